// The saga's stock commands sent over real JetStream to replicas started by bootInventory: every
// answer, duplicates and redeliveries acting once (also across two replicas sharing a store), and
// poison messages going to the dead-letter stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { Commands, Events, Header, listDeadLetters, newEvent } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { holdDelta, holdId, holdsCollection, settleDelta, type HoldDocument } from './holds.js';
import { legacyHoldPath, markPath, productsCollection, type ProductDocument, type StockMark } from './product.js';
import { reservationStream } from './reservation.js';
import { startInventoryHarness, testNow, type InventoryClient, type InventoryHarness } from './test-harness.js';

let h: InventoryHarness;
let client: InventoryClient;

beforeAll(async () => {
  h = await startInventoryHarness();
  client = h.client();
});
afterAll(() => h?.close());

/** Creates products for one test; skus are prefixed so tests never share stock. */
async function products(prefix: string, stock: Record<string, number>): Promise<(name: string) => string> {
  for (const [name, onHand] of Object.entries(stock)) {
    await client.createProduct({ sku: `${prefix}-${name}`, name, price: { amountMinor: 100, currency: 'EUR' }, onHand });
  }
  return (name) => `${prefix}-${name}`;
}

async function figures(sku: string) {
  const { product } = await client.getProduct({ sku });
  const doc = await h.productDoc(sku);
  expect(doc!.marks ?? {}, `stock moves still in progress on ${sku}`).toEqual({});
  return { onHand: product!.onHand, available: product!.available, reserved: product!.reserved, shipped: product!.shipped, holds: await h.heldUnits(sku) };
}

const productDocs = () => h.store.collection<ProductDocument>(productsCollection);
const holdDocs = () => h.store.collection<HoldDocument>(holdsCollection);

/** What an attempt that died right after moving the product leaves there: the moved figures and its mark. */
async function strayMove(sku: string, orderId: string, mark: StockMark) {
  await productDocs().updateOne({ _id: sku }, { $inc: { ...mark.delta, version: 1, marked: 1 }, $set: { [markPath(orderId)]: mark } });
}

/** A hold document in the state an attempt left it. */
async function strayHoldDocument(sku: string, orderId: string, fields: Partial<HoldDocument>) {
  await holdDocs().updateOne(
    { _id: holdId(sku, orderId) },
    { $set: { sku, orderId, units: 0, state: 'holding', token: 'none', settle: null, heldBy: null, settledBy: null, updatedAt: testNow, ...fields } },
    { upsert: true },
  );
}

const reserve = (orderId: string, items: OrderItem[]) => h.send(Commands.ReserveStock, { orderId, items });
const release = (orderId: string) => h.send(Commands.ReleaseStock, { orderId, reason: 'payment declined' });
const commit = (orderId: string) => h.send(Commands.CommitStock, { orderId });

/** Waits for everything in flight, then returns the order's answers (asserting how many). */
async function answersOf(orderId: string, count: number) {
  await h.waitForAnswers(orderId, count);
  await h.settled();
  const found = h.answers(orderId);
  expect(found, `answers of ${orderId}`).toHaveLength(count);
  return found;
}

describe('ReserveStock', () => {
  it('holds every line and answers StockReserved with the levels afterwards', async () => {
    const sku = await products('r1', { a: 10, b: 5 });
    const commandId = await reserve('ord-r1', [{ productId: sku('a'), quantity: 2 }, { productId: sku('b'), quantity: 5 }]);
    const [answer] = await answersOf('ord-r1', 1);
    expect(answer).toEqual({
      id: 'ord-r1:StockReserved',
      type: 'orderflow.inventory.v1.StockReserved',
      correlationId: 'ord-r1',
      causationId: commandId,
      data: {
        orderId: 'ord-r1',
        items: [{ productId: sku('a'), quantity: 2 }, { productId: sku('b'), quantity: 5 }],
        levels: [
          { sku: sku('a'), onHand: 10, available: 8, reserved: 2, revision: 2 },
          { sku: sku('b'), onHand: 5, available: 0, reserved: 5, revision: 2 },
        ],
        occurredAt: testNow,
      },
    });
    expect(await figures(sku('a'))).toEqual({ onHand: 10, available: 8, reserved: 2, shipped: 0, holds: { 'ord-r1': 2 } });
    expect(await figures(sku('b'))).toEqual({ onHand: 5, available: 0, reserved: 5, shipped: 0, holds: { 'ord-r1': 5 } });
  });

  it('reserves nothing and names every short line, an unknown product as available 0', async () => {
    const sku = await products('r2', { a: 10, b: 3 });
    await reserve('ord-r2', [
      { productId: sku('a'), quantity: 4 },
      { productId: sku('b'), quantity: 7 },
      { productId: sku('ghost'), quantity: 1 },
    ]);
    const [answer] = await answersOf('ord-r2', 1);
    expect(answer?.type).toBe('orderflow.inventory.v1.StockReservationFailed');
    expect(answer?.data).toEqual({
      orderId: 'ord-r2',
      shortages: [
        { productId: sku('b'), requested: 7, available: 3 },
        { productId: sku('ghost'), requested: 1, available: 0 },
      ],
      reason: `insufficient stock: ${sku('b')} (requested 7, available 3); ${sku('ghost')} (requested 1, none available)`,
      occurredAt: testNow,
    });
    // The hold placed on `a` before `b` turned out short was given back.
    expect(await figures(sku('a'))).toEqual({ onHand: 10, available: 10, reserved: 0, shipped: 0, holds: {} });
    expect(await figures(sku('b'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 0, holds: {} });
  });

  it('refuses lines it cannot reserve at all', async () => {
    const sku = await products('r3', { a: 10 });
    await reserve('ord-r3', [{ productId: sku('a'), quantity: 0 }]);
    const [answer] = await answersOf('ord-r3', 1);
    expect(answer?.data).toMatchObject({ shortages: [], reason: 'items[0].quantity must be positive, got 0' });
    expect(await figures(sku('a'))).toMatchObject({ available: 10, reserved: 0 });
  });
});

describe('ReleaseStock', () => {
  it('gives the reservation back and answers StockReleased', async () => {
    const sku = await products('l1', { a: 4 });
    await reserve('ord-l1', [{ productId: sku('a'), quantity: 3 }]);
    await h.waitForAnswers('ord-l1', 1);
    await release('ord-l1');
    const [, answer] = await answersOf('ord-l1', 2);
    expect(answer).toMatchObject({
      id: 'ord-l1:StockReleased',
      type: 'orderflow.inventory.v1.StockReleased',
      data: { orderId: 'ord-l1', items: [{ productId: sku('a'), quantity: 3 }], levels: [{ sku: sku('a'), onHand: 4, available: 4, reserved: 0 }] },
    });
    expect(await figures(sku('a'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 0, holds: {} });
  });

  it('answers StockReleased with no items when nothing was reserved, and refuses the reservation arriving late', async () => {
    const sku = await products('l2', { a: 4 });
    await release('ord-l2');
    const [answer] = await answersOf('ord-l2', 1);
    expect(answer).toMatchObject({ type: 'orderflow.inventory.v1.StockReleased', data: { orderId: 'ord-l2', items: [], levels: [] } });
    await reserve('ord-l2', [{ productId: sku('a'), quantity: 1 }]);
    const [, late] = await answersOf('ord-l2', 2);
    expect(late).toMatchObject({
      type: 'orderflow.inventory.v1.StockReservationFailed',
      data: { shortages: [], reason: "the order's stock was already released when the reservation arrived" },
    });
    expect(await figures(sku('a'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 0, holds: {} });
  });
});

describe('CommitStock', () => {
  it('ships the reservation and answers StockCommitted; a later release changes nothing', async () => {
    const sku = await products('c1', { a: 6, b: 2 });
    await reserve('ord-c1', [{ productId: sku('a'), quantity: 2 }, { productId: sku('b'), quantity: 2 }]);
    await h.waitForAnswers('ord-c1', 1);
    await commit('ord-c1');
    const [, committed] = await answersOf('ord-c1', 2);
    expect(committed).toMatchObject({
      id: 'ord-c1:StockCommitted',
      type: 'orderflow.inventory.v1.StockCommitted',
      data: {
        items: [{ productId: sku('a'), quantity: 2 }, { productId: sku('b'), quantity: 2 }],
        levels: [
          { sku: sku('a'), onHand: 4, available: 4, reserved: 0 },
          { sku: sku('b'), onHand: 0, available: 0, reserved: 0 },
        ],
      },
    });
    expect(await figures(sku('a'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 2, holds: {} });

    await release('ord-c1');
    const [, , released] = await answersOf('ord-c1', 3);
    expect(released).toMatchObject({ type: 'orderflow.inventory.v1.StockReleased', data: { items: [], levels: [] } });
    expect(await figures(sku('a'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 2, holds: {} });
    expect(await figures(sku('b'))).toEqual({ onHand: 0, available: 0, reserved: 0, shipped: 2, holds: {} });
  });

  it('answers a commit without reservation with no items, changes nothing and logs a warning', async () => {
    await commit('ord-c2');
    const [answer] = await answersOf('ord-c2', 1);
    expect(answer).toMatchObject({ type: 'orderflow.inventory.v1.StockCommitted', data: { orderId: 'ord-c2', items: [], levels: [] } });
    expect(h.logLines).toContainEqual(
      expect.objectContaining({ level: 'warn', orderId: 'ord-c2', msg: 'CommitStock without a reservation: answered with no items, stock unchanged' }),
    );
  });
});

describe('duplicates', () => {
  it('acts once on every command delivered twice', async () => {
    const sku = await products('d1', { a: 5 });
    const line = [{ productId: sku('a'), quantity: 2 }];
    await reserve('ord-d1', line);
    await reserve('ord-d1', line);
    await answersOf('ord-d1', 1);
    expect(await figures(sku('a'))).toMatchObject({ available: 3, reserved: 2 });

    await commit('ord-d1');
    await commit('ord-d1');
    await answersOf('ord-d1', 2);
    expect(await figures(sku('a'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 2, holds: {} });

    await release('ord-d1');
    await release('ord-d1');
    await reserve('ord-d1', line);
    const answers = await answersOf('ord-d1', 3);
    expect(answers.map((a) => a.type.split('.').at(-1))).toEqual(['StockReserved', 'StockCommitted', 'StockReleased']);
    expect(await figures(sku('a'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 2, holds: {} });
  });

  it('acts once when two replicas sharing a store get copies at the same time', async () => {
    if (h.replicas.length < 2) await h.boot();
    const sku = await products('d2', { a: 5, b: 1 });
    const ok = [{ productId: sku('a'), quantity: 2 }];
    const short = [{ productId: sku('a'), quantity: 1 }, { productId: sku('b'), quantity: 2 }];
    await Promise.all([...Array(4)].flatMap(() => [reserve('ord-d2-ok', ok), reserve('ord-d2-short', short), release('ord-d2-none')]));
    await answersOf('ord-d2-ok', 1);
    expect((await answersOf('ord-d2-short', 1))[0]?.type).toBe('orderflow.inventory.v1.StockReservationFailed');
    expect((await answersOf('ord-d2-none', 1))[0]?.type).toBe('orderflow.inventory.v1.StockReleased');
    expect(await figures(sku('a'))).toEqual({ onHand: 5, available: 3, reserved: 2, shipped: 0, holds: { 'ord-d2-ok': 2 } });
    expect(await figures(sku('b'))).toEqual({ onHand: 1, available: 1, reserved: 0, shipped: 0, holds: {} });

    await Promise.all([...Array(4)].map(() => commit('ord-d2-ok')));
    await answersOf('ord-d2-ok', 2);
    expect(await figures(sku('a'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 2, holds: {} });
    const handledBy = new Set(h.logLines.filter((l) => String(l.orderId).startsWith('ord-d2')).map((l) => l.replica));
    expect(handledBy, 'both replicas handled copies').toEqual(new Set([1, 2]));
  });
});

describe('holds kept in the product document by an earlier release', () => {
  /** What that release left when a replica died right after holding `units` of `sku` for `orderId`. */
  async function strayHold(sku: string, orderId: string, units: number) {
    await productDocs().updateOne({ _id: sku }, { $inc: { available: -units, reserved: units, version: 1 }, $set: { [legacyHoldPath(orderId)]: units } });
  }

  it('finishes a reservation whose holds were placed but not answered, holding nothing twice', async () => {
    const sku = await products('x1', { a: 5, b: 5 });
    await strayHold(sku('a'), 'ord-x1', 2);
    await reserve('ord-x1', [{ productId: sku('a'), quantity: 2 }, { productId: sku('b'), quantity: 1 }]);
    expect((await answersOf('ord-x1', 1))[0]?.type).toBe('orderflow.inventory.v1.StockReserved');
    expect(await figures(sku('a'))).toEqual({ onHand: 5, available: 3, reserved: 2, shipped: 0, holds: { 'ord-x1': 2 } });
    expect(await figures(sku('b'))).toEqual({ onHand: 5, available: 4, reserved: 1, shipped: 0, holds: { 'ord-x1': 1 } });

    await commit('ord-x1');
    await answersOf('ord-x1', 2);
    expect(await figures(sku('a'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 2, holds: {} });
    expect(await figures(sku('b'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 1, holds: {} });
  });

  it('gives back a hold left behind after the refusal was stored, when the command is redelivered', async () => {
    const sku = await products('x2', { a: 5, b: 0 });
    await strayHold(sku('a'), 'ord-x2', 3);
    await h.replicas[0]!.runtime.events.append(
      reservationStream('ord-x2'),
      0,
      [newEvent(Events.StockReservationFailed, { orderId: 'ord-x2', shortages: [{ productId: sku('b'), requested: 1, available: 0 }], reason: 'short', occurredAt: testNow }, 'ord-x2:StockReservationFailed')],
      { correlationId: 'ord-x2' },
    );
    await h.waitForAnswers('ord-x2', 1);
    await reserve('ord-x2', [{ productId: sku('a'), quantity: 3 }, { productId: sku('b'), quantity: 1 }]);
    await waitFor('the stray hold to be given back', async () => (await figures(sku('a'))).reserved === 0);
    await answersOf('ord-x2', 1);
    expect(await figures(sku('a'))).toEqual({ onHand: 5, available: 5, reserved: 0, shipped: 0, holds: {} });
  });
});

describe('recovery from a replica that crashed mid-command', () => {
  it('takes over a hold whose attempt died after moving the stock, and holds the units once', async () => {
    const sku = await products('y1', { a: 5 });
    await strayHoldDocument(sku('a'), 'ord-y1', { units: 2, state: 'holding', token: 'died' });
    await strayMove(sku('a'), 'ord-y1', { token: 'died', phase: 'hold', delta: holdDelta(2) });
    await reserve('ord-y1', [{ productId: sku('a'), quantity: 2 }]);
    expect((await answersOf('ord-y1', 1))[0]?.type).toBe('orderflow.inventory.v1.StockReserved');
    expect(await figures(sku('a'))).toEqual({ onHand: 5, available: 3, reserved: 2, shipped: 0, holds: { 'ord-y1': 2 } });
  });

  it('keeps a hold that was recorded before its attempt died, and ships it once', async () => {
    const sku = await products('y2', { a: 5 });
    await reserve('ord-y2', [{ productId: sku('a'), quantity: 2 }]);
    await answersOf('ord-y2', 1);
    // The attempt recorded the hold but died before removing its mark from the product.
    const hold = await holdDocs().findOne({ _id: holdId(sku('a'), 'ord-y2') });
    await productDocs().updateOne({ _id: sku('a') }, { $inc: { marked: 1 }, $set: { [markPath('ord-y2')]: { token: hold!.heldBy!, phase: 'hold', delta: holdDelta(2) } } });
    await commit('ord-y2');
    expect((await answersOf('ord-y2', 2))[1]?.type).toBe('orderflow.inventory.v1.StockCommitted');
    expect(await figures(sku('a'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 2, holds: {} });
  });

  it('finishes a settle whose attempt died after moving the stock, moving the units once', async () => {
    const sku = await products('y3', { a: 5 });
    await reserve('ord-y3', [{ productId: sku('a'), quantity: 2 }]);
    await answersOf('ord-y3', 1);
    await strayHoldDocument(sku('a'), 'ord-y3', { state: 'settling', settle: 'ship', token: 'died', units: 2, heldBy: 'earlier' });
    await strayMove(sku('a'), 'ord-y3', { token: 'died', phase: 'settle', delta: settleDelta('ship', 2) });
    await commit('ord-y3');
    const [, committed] = await answersOf('ord-y3', 2);
    expect(committed?.data).toMatchObject({ levels: [{ sku: sku('a'), onHand: 3, available: 3, reserved: 0 }] });
    expect(await figures(sku('a'))).toEqual({ onHand: 3, available: 3, reserved: 0, shipped: 2, holds: {} });
  });

  it('finishes a release that gave back some holds before the crash', async () => {
    const sku = await products('x3', { a: 4, b: 4 });
    await reserve('ord-x3', [{ productId: sku('a'), quantity: 1 }, { productId: sku('b'), quantity: 2 }]);
    await answersOf('ord-x3', 1);
    // The crashed release had given back the hold on `a` only.
    await holdDocs().updateOne({ _id: holdId(sku('a'), 'ord-x3') }, { $set: { state: 'settled', settle: 'return', token: 'died', settledBy: 'died' } });
    await productDocs().updateOne({ _id: sku('a') }, { $inc: { ...settleDelta('return', 1), version: 1 } });
    await release('ord-x3');
    const [, released] = await answersOf('ord-x3', 2);
    expect(released?.data).toMatchObject({
      items: [{ productId: sku('a'), quantity: 1 }, { productId: sku('b'), quantity: 2 }],
      levels: [
        { sku: sku('a'), onHand: 4, available: 4, reserved: 0 },
        { sku: sku('b'), onHand: 4, available: 4, reserved: 0 },
      ],
    });
    expect(await figures(sku('a'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 0, holds: {} });
    expect(await figures(sku('b'))).toEqual({ onHand: 4, available: 4, reserved: 0, shipped: 0, holds: {} });
  });
});

describe('poison messages', () => {
  it('dead-letters a command that cannot be decoded and keeps serving', async () => {
    await h.sendRaw(Commands.ReserveStock.subject, Commands.ReserveStock.type, new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'ord-poison');
    const letter = await waitFor('the garbage command in DEAD_LETTERS', async () =>
      (await listDeadLetters(h.nats)).find((l) => l.headers.get(Header.CorrelationId) === 'ord-poison'),
    );
    expect(letter).toMatchObject({ subject: Commands.ReserveStock.subject, stream: 'INVENTORY_COMMANDS', consumer: 'inventory-commands' });
    expect(letter.error).toMatch(/malformed orderflow\.inventory\.v1\.ReserveStock payload/);

    const sku = await products('p1', { a: 1 });
    await reserve('ord-after-poison', [{ productId: sku('a'), quantity: 1 }]);
    expect((await answersOf('ord-after-poison', 1))[0]?.type).toBe('orderflow.inventory.v1.StockReserved');
    expect(h.answers('ord-poison')).toEqual([]);
  });
});

describe('start-up repair', () => {
  it('removes the marks attempts left when they died, reversing the moves that did not stand', async () => {
    const sku = await products('z1', { a: 5, b: 5, c: 5 });
    // a: the attempt moved the stock, then another attempt claimed the hold and died too.
    await strayHoldDocument(sku('a'), 'ord-z1', { units: 2, state: 'holding', token: 'second' });
    await strayMove(sku('a'), 'ord-z1', { token: 'first', phase: 'hold', delta: holdDelta(2) });
    // b: the attempt recorded its hold and died before removing the mark.
    await strayHoldDocument(sku('b'), 'ord-z1', { units: 1, state: 'held', token: 'only', heldBy: 'only' });
    await strayMove(sku('b'), 'ord-z1', { token: 'only', phase: 'hold', delta: holdDelta(1) });
    // c: the attempt may still be running (or its command will be redelivered): left alone.
    await strayHoldDocument(sku('c'), 'ord-z1', { units: 3, state: 'holding', token: 'running' });
    await strayMove(sku('c'), 'ord-z1', { token: 'running', phase: 'hold', delta: holdDelta(3) });

    await h.boot();
    expect(await figures(sku('a'))).toEqual({ onHand: 5, available: 5, reserved: 0, shipped: 0, holds: {} });
    expect(await figures(sku('b'))).toEqual({ onHand: 5, available: 4, reserved: 1, shipped: 0, holds: { 'ord-z1': 1 } });
    expect((await h.productDoc(sku('c')))?.marks).toEqual({ 'ord-z1': { token: 'running', phase: 'hold', delta: holdDelta(3) } });
    expect(h.logLines.some((l) => l.msg === 'settled stock moves left by attempts that died' && l.marks === 2)).toBe(true);
  });
});
