// InventoryService over real gRPC, on a replica started by bootInventory against a real
// nats-server: every call's success and failure, the events catalog changes publish, and
// reflection through `buf curl`.
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGrpcFailure, type GrpcFailure } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { createdDocument, pendingEvent, productsCollection, type ProductDocument } from './product.js';
import { bufCurl, startInventoryHarness, testNow, type InventoryClient, type InventoryHarness } from './test-harness.js';

const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

async function failureOf(call: Promise<unknown>): Promise<GrpcFailure> {
  const err = await call.then(
    () => undefined,
    (e: ServiceError) => e,
  );
  expect(err, 'the call should fail').toBeDefined();
  return readGrpcFailure(err!);
}

let h: InventoryHarness;
let client: InventoryClient;

beforeAll(async () => {
  h = await startInventoryHarness();
  client = h.client();
});
afterAll(() => h?.close());

/** How much has been written: products and event-store commits. Failed calls must not change it. */
async function written(): Promise<{ products: number; commits: number }> {
  return {
    products: await h.store.collection(productsCollection).countDocuments({}),
    commits: await h.store.collection('commits').countDocuments({}),
  };
}

describe('CreateProduct', () => {
  it('creates a product with all its stock available and publishes ProductCreated', async () => {
    const { product } = await client.createProduct({ sku: 'mug-1', name: 'Mug', price: eur(1299), onHand: 12 });
    const expected = {
      sku: 'mug-1',
      name: 'Mug',
      price: eur(1299),
      onHand: 12,
      available: 12,
      reserved: 0,
      shipped: 0,
      version: 1,
      createdAt: testNow,
      updatedAt: testNow,
    };
    expect(product).toEqual(expected);
    expect((await client.getProduct({ sku: 'mug-1' })).product).toEqual(expected);
    const [created] = await h.waitForAnswers('product-mug-1', 1);
    expect(created).toMatchObject({
      id: 'product-mug-1:1',
      type: 'orderflow.inventory.v1.ProductCreated',
      data: { sku: 'mug-1', name: 'Mug', price: eur(1299), onHand: 12, occurredAt: testNow },
    });
    expect((await h.productDoc('mug-1'))?.hasPending).toBe(false);
  });

  it('starts with no stock when on_hand is left out', async () => {
    const { product } = await client.createProduct({ sku: 'poster', name: 'Poster', price: eur(500), onHand: 0 });
    expect(product).toMatchObject({ onHand: 0, available: 0, reserved: 0, shipped: 0 });
  });

  it('rejects a taken sku with ALREADY_EXISTS and keeps the original', async () => {
    await h.settled();
    const before = await written();
    const failure = await failureOf(client.createProduct({ sku: 'mug-1', name: 'Other mug', price: eur(1), onHand: 1 }));
    expect(failure).toMatchObject({ code: status.ALREADY_EXISTS, message: 'product "mug-1" already exists' });
    expect((await client.getProduct({ sku: 'mug-1' })).product).toMatchObject({ name: 'Mug', price: eur(1299), onHand: 12 });
    expect(await written()).toEqual(before);
    await h.settled();
    expect(h.answers('product-mug-1')).toHaveLength(1);
  });

  it.each([
    ['an empty sku', { sku: '' }, ['sku']],
    ['an over-long sku', { sku: 's'.repeat(65) }, ['sku']],
    ['a sku with spaces', { sku: 'a b' }, ['sku']],
    ['an empty name', { name: ' ' }, ['name']],
    ['an over-long name', { name: 'n'.repeat(201) }, ['name']],
    ['a negative price', { price: eur(-1) }, ['price.amount_minor']],
    ['an unknown currency', { price: { amountMinor: 100, currency: 'XYZ' } }, ['price.currency']],
    ['no price', { price: undefined }, ['price']],
    ['negative stock', { onHand: -3 }, ['on_hand']],
    ['everything wrong at once', { sku: '', name: '', price: { amountMinor: -5, currency: '' }, onHand: -1 }, ['sku', 'name', 'price.currency', 'price.amount_minor', 'on_hand']],
  ])('rejects %s with INVALID_ARGUMENT naming the field, writing nothing', async (_what, change, fields) => {
    const before = await written();
    const failure = await failureOf(client.createProduct({ sku: 'new-1', name: 'New', price: eur(100), onHand: 1, ...change }));
    expect(failure.code).toBe(status.INVALID_ARGUMENT);
    expect(failure.fieldViolations.map((v) => v.field)).toEqual(fields);
    expect(await written()).toEqual(before);
  });
});

describe('Restock', () => {
  it('adds units to on_hand and available and publishes ProductRestocked', async () => {
    await client.createProduct({ sku: 'tee', name: 'T-shirt', price: eur(2000), onHand: 3 });
    const { product } = await client.restock({ sku: 'tee', quantity: 4 });
    expect(product).toMatchObject({ sku: 'tee', onHand: 7, available: 7, reserved: 0, version: 2 });
    const events = await h.waitForAnswers('product-tee', 2);
    expect(events[1]).toMatchObject({
      id: 'product-tee:2',
      type: 'orderflow.inventory.v1.ProductRestocked',
      data: { sku: 'tee', quantity: 4, onHand: 7, occurredAt: testNow },
    });
  });

  it('rejects a quantity below 1 and an unknown sku, writing nothing', async () => {
    const before = await written();
    for (const quantity of [0, -2]) {
      const failure = await failureOf(client.restock({ sku: 'tee', quantity }));
      expect(failure).toMatchObject({ code: status.INVALID_ARGUMENT, fieldViolations: [{ field: 'quantity', description: 'must be at least 1' }] });
    }
    expect((await failureOf(client.restock({ sku: '', quantity: 1 }))).fieldViolations.map((v) => v.field)).toEqual(['sku']);
    expect(await failureOf(client.restock({ sku: 'nope', quantity: 1 }))).toMatchObject({ code: status.NOT_FOUND, message: 'product "nope" not found' });
    expect(await written()).toEqual(before);
    expect((await client.getProduct({ sku: 'tee' })).product).toMatchObject({ onHand: 7, version: 2 });
  });
});

describe('UpdatePrice', () => {
  it('sets the price and publishes ProductPriceChanged; the same price again changes nothing', async () => {
    await client.createProduct({ sku: 'cap', name: 'Cap', price: eur(900), onHand: 1 });
    const { product } = await client.updatePrice({ sku: 'cap', price: { amountMinor: 1100, currency: 'USD' } });
    expect(product).toMatchObject({ price: { amountMinor: 1100, currency: 'USD' }, onHand: 1, version: 2 });
    const again = await client.updatePrice({ sku: 'cap', price: { amountMinor: 1100, currency: 'USD' } });
    expect(again.product).toMatchObject({ version: 2 });
    await h.settled();
    const events = h.answers('product-cap');
    expect(events.map((e) => e.type)).toEqual(['orderflow.inventory.v1.ProductCreated', 'orderflow.inventory.v1.ProductPriceChanged']);
    expect(events[1]!.data).toEqual({ sku: 'cap', price: { amountMinor: 1100, currency: 'USD' }, occurredAt: testNow });
  });

  it('rejects a bad price and an unknown sku, writing nothing', async () => {
    const before = await written();
    const bad = await failureOf(client.updatePrice({ sku: 'cap', price: { amountMinor: -1, currency: 'EURO' } }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.fieldViolations.map((v) => v.field)).toEqual(['price.currency', 'price.amount_minor']);
    expect((await failureOf(client.updatePrice({ sku: 'cap', price: undefined }))).fieldViolations.map((v) => v.field)).toEqual(['price']);
    expect((await failureOf(client.updatePrice({ sku: 'nope', price: eur(1) }))).code).toBe(status.NOT_FOUND);
    expect(await written()).toEqual(before);
    expect((await client.getProduct({ sku: 'cap' })).product?.price).toEqual({ amountMinor: 1100, currency: 'USD' });
  });
});

describe('GetProduct, BatchGetProducts, ListProducts', () => {
  it('GetProduct rejects an empty sku and answers NOT_FOUND for an unknown one', async () => {
    expect(await failureOf(client.getProduct({ sku: '' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'sku', description: 'is required' }],
    });
    expect((await failureOf(client.getProduct({ sku: 'ghost' }))).code).toBe(status.NOT_FOUND);
  });

  it('BatchGetProducts returns what it found in request order, each once, and the missing skus', async () => {
    const { products, missingSkus } = await client.batchGetProducts({ skus: ['tee', 'ghost', 'mug-1', 'tee', 'phantom'] });
    expect(products.map((p) => p.sku)).toEqual(['tee', 'mug-1']);
    expect(missingSkus).toEqual(['ghost', 'phantom']);
    expect(await client.batchGetProducts({ skus: [] })).toEqual({ products: [], missingSkus: [] });
    const failure = await failureOf(client.batchGetProducts({ skus: ['tee', ''] }));
    expect(failure).toMatchObject({ code: status.INVALID_ARGUMENT, fieldViolations: [{ field: 'skus[1]' }] });
  });

  it('ListProducts pages through the catalog by sku', async () => {
    const all = (await client.listProducts({ pageSize: 0, pageToken: '' })).products.map((p) => p.sku);
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(['cap', 'mug-1', 'poster', 'tee']));
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await client.listProducts({ pageSize: 2, pageToken });
      expect(page.products.length).toBeLessThanOrEqual(2);
      seen.push(...page.products.map((p) => p.sku));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual(all);
    const failure = await failureOf(client.listProducts({ pageSize: -1, pageToken: '%%%' }));
    expect(failure.fieldViolations.map((v) => v.field)).toEqual(['page_size', 'page_token']);
  });
});

describe('reflection', () => {
  it('lists InventoryService and calls GetProduct with buf curl', async () => {
    const address = h.replicas[0]!.grpcAddress;
    const services = await bufCurl('--list-services', `http://${address}`);
    expect(services.trim().split('\n')).toContain('orderflow.inventory.v1.InventoryService');
    const out = await bufCurl('-d', '{"sku":"mug-1"}', `http://${address}/orderflow.inventory.v1.InventoryService/GetProduct`);
    expect(JSON.parse(out)).toMatchObject({
      product: { sku: 'mug-1', name: 'Mug', price: { amountMinor: '1299', currency: 'EUR' }, onHand: '12', available: '12' },
    });
  });
});

describe('start-up repair', () => {
  it('appends a catalog event left pending by a crash before serving', async () => {
    // What a replica leaves behind when it dies between the document write and the append:
    // a restocked product whose ProductRestocked is still pending.
    const doc = createdDocument({ sku: 'crashed', name: 'Crashed', price: eur(10), onHand: 2 }, testNow);
    const restocked: ProductDocument = {
      ...doc,
      onHand: 5,
      available: 5,
      version: 2,
      streamVersion: 2,
      pending: [
        ...doc.pending,
        pendingEvent('crashed', 2, { type: 'ProductRestocked', data: { sku: 'crashed', quantity: 3, onHand: 5, occurredAt: testNow, level: { sku: 'crashed', onHand: 5, available: 5, reserved: 0, revision: 2 } } }),
      ],
    };
    await h.store.collection<ProductDocument>(productsCollection).insertOne(restocked);
    await h.boot();
    const events = await h.waitForAnswers('product-crashed', 2);
    expect(events.map((e) => [e.id, e.type])).toEqual([
      ['product-crashed:1', 'orderflow.inventory.v1.ProductCreated'],
      ['product-crashed:2', 'orderflow.inventory.v1.ProductRestocked'],
    ]);
    await waitFor('the pending list to be cleared', async () => (await h.productDoc('crashed'))?.hasPending === false);
    expect((await h.productDoc('crashed'))?.pending).toEqual([]);
  });
});
