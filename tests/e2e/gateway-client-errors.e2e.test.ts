import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// Mistakes of the caller answered as such: a code the client can act on, and a message in the
// caller's own vocabulary (GraphQL names, not protobuf ones). And what introspection shows.

let gs: GatewaySystem;

beforeAll(async () => {
  gs = await startGatewaySystem();
  await gs.data(`mutation($input: CreateProductInput!) { createProduct(input: $input) { sku } }`, {
    input: { sku: 'ERR-TEA', name: 'Tea', price: { amountMinor: 450, currency: 'EUR' }, onHand: 5 },
  });
});

afterAll(async () => {
  await gs?.close();
});

const orderInput = (overrides: Record<string, unknown> = {}) => ({
  customerId: 'cus_err',
  customerEmail: 'err@example.com',
  items: [{ productId: 'ERR-TEA', quantity: 1 }],
  shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  paymentToken: 'tok_ok',
  ...overrides,
});
const placeOrder = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version order { id } } }`;

describe('messages in GraphQL names', () => {
  it('names the input fields of a refused placeOrder as the caller sent them', async () => {
    const answer = await gs.gql(placeOrder, { input: orderInput({ customerEmail: 'not-an-address' }) });
    const error = answer.errors![0]!;
    expect(error.extensions!.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('input.customerEmail');
    expect(error.message).not.toMatch(/customer_email/);
    expect(error.extensions!.fieldViolations).toEqual([expect.objectContaining({ field: 'input.customerEmail' })]);
  });

  it('names first in a refused page size, and idempotencyKey when a key is reused for another order', async () => {
    const page = await gs.gql(`{ orders(first: -1) { nodes { id } } }`);
    expect(page.errors![0]!.message).toContain('first');
    expect(page.errors![0]!.message).not.toMatch(/page_size/);

    await gs.data(placeOrder, { input: orderInput({ idempotencyKey: 'err-key-1' }) });
    const reused = await gs.gql(placeOrder, { input: orderInput({ idempotencyKey: 'err-key-1', customerEmail: 'other@example.com' }) });
    expect(reused.errors![0]!.extensions!.code).toBe('ALREADY_EXISTS');
    expect(reused.errors![0]!.message).toContain('input.idempotencyKey');
    expect(reused.errors![0]!.message).not.toMatch(/idempotency_key/);
  });
});

describe('client errors, not internal ones', () => {
  it('order(minVersion) above the current version: VERSION_NOT_REACHED, saying so', async () => {
    const placed = await gs.data<{ placeOrder: { version: number; order: { id: string } } }>(placeOrder, { input: orderInput() });
    const answer = await gs.gql(`query($id: ID!, $v: Int) { order(id: $id, minVersion: $v) { id } }`, { id: placed.placeOrder.order.id, v: 10_000 });
    expect(answer.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/did not reach version 10000 within \d+ ms/), extensions: expect.objectContaining({ code: 'VERSION_NOT_REACHED' }) }),
    ]);
  });

  it('first: null is BAD_USER_INPUT naming first', async () => {
    const answer = await gs.gql(`{ orders(first: null) { nodes { id } } }`);
    expect(answer.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^first: /), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
  });

  it('an unknown persisted query hash is PERSISTED_QUERY_NOT_FOUND, a malformed persistedQuery BAD_USER_INPUT', async () => {
    const post = async (body: unknown) => {
      const response = await fetch(gs.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    };
    const unknown = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } });
    expect(unknown.errors).toEqual([expect.objectContaining({ message: 'PersistedQueryNotFound', extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_NOT_FOUND' }) })]);
    for (const persistedQuery of [{ version: 2, sha256Hash: 'a'.repeat(64) }, 'yes', { version: 1 }]) {
      const malformed = await post({ query: '{ __typename }', extensions: { persistedQuery } });
      expect(malformed.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
    }
  });
});

describe('introspection', () => {
  it('shows the Subscription type, its fields and their payload type', async () => {
    const data = await gs.data<{
      __schema: { subscriptionType: { name: string; fields: { name: string; type: { ofType: { name: string } } }[] } | null };
      __type: { fields: { name: string }[] } | null;
    }>(`{
      __schema { subscriptionType { name fields { name type { ofType { name } } } } }
      __type(name: "OrderStatusChange") { fields { name } }
    }`);
    expect(data.__schema.subscriptionType).toEqual({
      name: 'Subscription',
      fields: [
        { name: 'orderStatusChanged', type: { ofType: { name: 'OrderStatusChange' } } },
        { name: 'orderUpdates', type: { ofType: { name: 'OrderStatusChange' } } },
      ],
    });
    expect(data.__type?.fields.map((f) => f.name)).toEqual(['cursor', 'orderId', 'status', 'version', 'occurredAt', 'order']);
  });
});
