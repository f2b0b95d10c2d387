import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// Through the gateway only: orders placed with GraphQL mutations, their progress watched with
// graphql-ws subscriptions whose payloads select federated Order fields.

interface Change {
  cursor: string;
  orderId: string;
  status: string;
  version: number;
  order: {
    id: string;
    status: string;
    cancellationReason: string | null;
    items: { quantity: number; product: { sku: string; name: string } }[];
    payment: { status: string } | null;
    shipment: { status: string } | null;
  } | null;
}

const changeFields = /* GraphQL */ `
  cursor
  orderId
  status
  version
  order {
    id
    status
    cancellationReason
    items { quantity product { sku name } }
    payment { status }
    shipment { status }
  }
`;

const watchOrder = `subscription($orderId: ID!, $after: String) { orderStatusChanged(orderId: $orderId, after: $after) { ${changeFields} } }`;

const placeOrder = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) { version order { id status } }
  }
`;

let gs: GatewaySystem;
let n = 0;

async function place(options: { token?: string; sku?: string; quantity?: number; country?: string; customerId?: string } = {}) {
  n += 1;
  const data = await gs.data<{ placeOrder: { version: number; order: { id: string; status: string } } }>(placeOrder, {
    input: {
      customerId: options.customerId ?? `cus_sub_${n}`,
      customerEmail: `sub${n}@example.com`,
      items: [{ productId: options.sku ?? 'SUB-TEA', quantity: options.quantity ?? 1 }],
      shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: options.country ?? 'DE' },
      paymentToken: options.token ?? 'tok_ok',
      idempotencyKey: `sub-${n}`,
    },
  });
  return data.placeOrder;
}

const statuses = (changes: Change[]) => changes.map((c) => c.status);
const ended = (...final: string[]) => (changes: Change[]) => final.includes(changes.at(-1)?.status ?? '');

beforeAll(async () => {
  gs = await startGatewaySystem({
    // tok_timeout answers after 3 s, past the 2 s charge deadline; long enough to cancel while charging.
    env: { PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: '3000', SAGA_CHARGE_PAYMENT_DEADLINE_MS: '2000' },
  });
  const create = `mutation($input: CreateProductInput!) { createProduct(input: $input) { sku } }`;
  await gs.data(create, { input: { sku: 'SUB-TEA', name: 'Tea', price: { amountMinor: 450, currency: 'EUR' }, onHand: 500 } });
  await gs.data(create, { input: { sku: 'SUB-RARE', name: 'Rare', price: { amountMinor: 9900, currency: 'EUR' }, onHand: 1 } });
});

afterAll(async () => {
  await gs?.close();
});

describe('orderStatusChanged', () => {
  it('shows every status of a completed order in order, with federated fields, then dispatch and delivery', async () => {
    const placed = await place();
    const changes = await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId: placed.order.id } }, ended('COMPLETED'));
    expect(statuses(changes)).toEqual(['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'SHIPMENT_SCHEDULED', 'COMPLETED']);
    // Versions and cursors only grow.
    for (let i = 1; i < changes.length; i++) {
      expect(changes[i]!.version).toBeGreaterThan(changes[i - 1]!.version);
      expect(Number(changes[i]!.cursor)).toBeGreaterThan(Number(changes[i - 1]!.cursor));
    }
    const completed = changes.at(-1)!.order!;
    expect(completed.items).toEqual([{ quantity: 1, product: { sku: 'SUB-TEA', name: 'Tea' } }]);
    expect(completed.payment).toEqual({ status: 'CAPTURED' });
    expect(completed.shipment).toEqual({ status: 'SCHEDULED' });

    // Resuming after COMPLETED: the carrier's updates, then the subscription ends at DELIVERED.
    const rest = collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId: placed.order.id, after: changes.at(-1)!.cursor } }, ended('DELIVERED'));
    await gs.data(`mutation($id: ID!) { dispatchShipment(orderId: $id, trackingNumber: "TRK-1") { status } }`, { id: placed.order.id });
    await gs.data(`mutation($id: ID!) { confirmDelivery(orderId: $id) { status } }`, { id: placed.order.id });
    const after = await rest;
    expect(statuses(after)).toEqual(['SHIPPED', 'DELIVERED']);
    expect(after.at(-1)!.order!.shipment).toEqual({ status: 'DELIVERED' });
  });

  it.each([
    // Nothing was done, so nothing is compensated: straight to CANCELLED.
    { path: 'out of stock', order: { sku: 'SUB-RARE', quantity: 2 }, reason: 'OUT_OF_STOCK', expected: ['PLACED', 'CANCELLED'] },
    { path: 'declined card', order: { token: 'tok_declined' }, reason: 'PAYMENT_DECLINED', expected: ['PLACED', 'STOCK_RESERVED', 'COMPENSATING', 'CANCELLED'] },
    {
      path: 'shipping failure',
      order: { country: 'JP' },
      reason: 'SHIPMENT_FAILED',
      expected: ['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'COMPENSATING', 'CANCELLED'],
    },
    { path: 'charge timeout', order: { token: 'tok_timeout' }, reason: 'STEP_TIMED_OUT', expected: ['PLACED', 'STOCK_RESERVED', 'COMPENSATING', 'CANCELLED'] },
  ])('shows the $path path to CANCELLED, and the subscription ends', async ({ order, reason, expected }) => {
    const placed = await place(order);
    // No done condition: the subscription itself completes after CANCELLED.
    const changes = await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId: placed.order.id } }, () => false);
    expect(statuses(changes)).toEqual(expected);
    expect(changes.at(-1)!.order).toMatchObject({ status: 'CANCELLED', cancellationReason: reason });
  });

  it('shows a customer cancellation while the card is being charged', async () => {
    const placed = await place({ token: 'tok_timeout' });
    const client = gs.ws();
    let cancelled = false;
    const changes = await collect<Change>(client, { query: watchOrder, variables: { orderId: placed.order.id } }, (seen) => {
      if (!cancelled && seen.at(-1)?.status === 'STOCK_RESERVED') {
        cancelled = true;
        void gs.data(`mutation($id: ID!) { cancelOrder(orderId: $id, reason: "changed my mind") { version } }`, { id: placed.order.id });
      }
      return false;
    });
    expect(statuses(changes)).toEqual(['PLACED', 'STOCK_RESERVED', 'COMPENSATING', 'CANCELLED']);
    // The charge in flight when the customer cancelled is voided at the gateway: nothing captured.
    // The payment reads FAILED (voided, awaiting the gateway) or, once the gateway's late answer
    // is recorded, DECLINED; the payment field is read when the change is delivered.
    const last = changes.at(-1)!.order as { cancellationReason: string; payment: { status: string } };
    expect(last.cancellationReason).toBe('CUSTOMER_REQUESTED');
    expect(['FAILED', 'DECLINED']).toContain(last.payment.status);
  });

  it('refuses an unknown order and a cursor it did not issue', async () => {
    await expect(collect(gs.ws(), { query: watchOrder, variables: { orderId: 'ord_unknown' } }, () => false)).rejects.toThrow(/NOT_FOUND|not found/);
    await expect(collect(gs.ws(), { query: watchOrder, variables: { orderId: 'ord_unknown', after: 'xyz' } }, () => false)).rejects.toThrow(
      /BAD_USER_INPUT/,
    );
  });
});

describe('orderUpdates with a cursor', () => {
  it('loses and repeats nothing across a reconnect', async () => {
    const customerId = 'cus_reconnect';
    const query = `subscription($customerId: ID!, $after: String) { orderUpdates(customerId: $customerId, after: $after) { cursor orderId status } }`;
    type Update = Pick<Change, 'cursor' | 'orderId' | 'status'>;
    const terminal = (updates: Update[], count: number) => updates.filter((u) => u.status === 'COMPLETED' || u.status === 'CANCELLED').length === count;

    // Both subscribers start from the stream's current end, so none of the orders below can be
    // placed before their feeds exist: one stays connected, the other drops after three changes.
    const start = String((await gs.system.nats.jsm.streams.info('ORDERS_EVENTS')).state.last_seq);
    const reference = collect<Update>(gs.ws(), { query, variables: { customerId, after: start } }, (u) => terminal(u, 3));
    const first = collect<Update>(gs.ws(), { query, variables: { customerId, after: start } }, (u) => u.length === 3);
    await place({ customerId });
    await place({ customerId, token: 'tok_declined' });
    await place({ customerId });
    const beforeDrop = await first;
    expect(beforeDrop).toHaveLength(3);

    const afterReconnect = await collect<Update>(
      gs.ws(),
      { query, variables: { customerId, after: beforeDrop.at(-1)!.cursor } },
      (u) => terminal([...beforeDrop, ...u], 3),
    );
    const all = await reference;
    expect([...beforeDrop, ...afterReconnect]).toEqual(all);
    expect(new Set(all.map((u) => u.cursor)).size).toBe(all.length);
  });
});
