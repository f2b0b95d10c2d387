import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { waitFor } from '../../services/platform/testing/index.js';
import { collect, startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// What a subscription holds and when it lets go: JetStream consumers released as soon as a
// subscriber leaves, resumes at or past the end, and one failing operation on a shared socket.

const stream = 'ORDERS_EVENTS';

let gs: GatewaySystem;
let n = 0;

interface Change {
  cursor: string;
  status: string;
}

const watchOrder = `subscription($orderId: ID!, $after: String) { orderStatusChanged(orderId: $orderId, after: $after) { cursor status } }`;
const watchCustomer = `subscription($customerId: ID!, $after: String) { orderUpdates(customerId: $customerId, after: $after) { cursor orderId status } }`;

async function place(customerId = `cus_life_${n + 1}`) {
  n += 1;
  const data = await gs.data<{ placeOrder: { order: { id: string } } }>(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`,
    {
      input: {
        customerId,
        customerEmail: `life${n}@example.com`,
        items: [{ productId: 'LIFE-TEA', quantity: 1 }],
        shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
        paymentToken: 'tok_ok',
        idempotencyKey: `life-${n}`,
      },
    },
  );
  return data.placeOrder.order.id;
}

const consumerCount = async () => (await gs.system.nats.jsm.streams.info(stream)).state.consumer_count;
const lastSequence = async () => (await gs.system.nats.jsm.streams.info(stream)).state.last_seq;

async function consumersBecome(expected: number) {
  let seen = -1;
  await waitFor(
    `${stream} to have ${expected} consumers`,
    async () => {
      seen = await consumerCount();
      if (seen !== expected) throw new Error(`it has ${seen}`);
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

/** The first thing an operation answers: its first result, or the errors of its `error` message. */
async function firstAnswer(client: Client, request: { query: string; variables?: Record<string, unknown> }) {
  const iterator = client.iterate(request);
  try {
    const first = await iterator.next();
    return { result: first.done ? undefined : first.value };
  } catch (err) {
    return { error: err as { message: string; extensions?: Record<string, unknown> }[] };
  } finally {
    await iterator.return?.();
  }
}

beforeAll(async () => {
  gs = await startGatewaySystem();
  await gs.data(`mutation($input: CreateProductInput!) { createProduct(input: $input) { sku } }`, {
    input: { sku: 'LIFE-TEA', name: 'Tea', price: { amountMinor: 450, currency: 'EUR' }, onHand: 500 },
  });
});

afterAll(async () => {
  await gs?.close();
});

describe('consumers', () => {
  it('are released when 200 subscriptions are completed, and when sockets holding 100 drop', async () => {
    // Twenty a socket: the gateway's default cap of operations per socket.
    const perSocket = 20;
    const open = (count: number, prefix: string) => {
      const clients = Array.from({ length: count / perSocket }, () => gs.ws());
      const iterators = Array.from({ length: count }, (_, i) =>
        clients[Math.floor(i / perSocket)]!.iterate({ query: watchCustomer, variables: { customerId: `${prefix}_${i}` } }),
      );
      // Nothing ever matches these feeds: the subscriptions sit waiting, each on its consumer.
      return { clients, iterators, pending: iterators.map((it) => it.next().catch(() => undefined)) };
    };
    const before = await consumerCount();
    const completed = open(200, 'cus_idle');
    await consumersBecome(before + 200);
    await Promise.all(completed.iterators.map((it) => it.return?.()));
    await Promise.all(completed.pending);
    await consumersBecome(before);

    const dropped = open(100, 'cus_gone');
    await consumersBecome(before + 100);
    await Promise.all(dropped.clients.map((c) => c.dispose()));
    await Promise.all(dropped.pending);
    await consumersBecome(before);
  });

  it('are released when a subscription ends at its final status', async () => {
    const orderId = await place();
    const before = await consumerCount();
    const changes = await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId } }, (c) => c.at(-1)?.status === 'COMPLETED');
    expect(changes.map((c) => c.status)).toEqual(['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'SHIPMENT_SCHEDULED', 'COMPLETED']);
    await consumersBecome(before);
  });
});

describe('resuming', () => {
  it('after the last change of a delivered order completes at once with nothing', async () => {
    const orderId = await place();
    const live = await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId } }, (c) => c.at(-1)?.status === 'COMPLETED');
    const rest = collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId, after: live.at(-1)!.cursor } }, () => false);
    await gs.data(`mutation($id: ID!) { dispatchShipment(orderId: $id, trackingNumber: "TRK-L") { status } }`, { id: orderId });
    await gs.data(`mutation($id: ID!) { confirmDelivery(orderId: $id) { status } }`, { id: orderId });
    const tail = await rest;
    expect(tail.map((c) => c.status)).toEqual(['SHIPPED', 'DELIVERED']);

    // Short deadlines: completing means the subscription ends by itself, not at the timeout.
    expect(await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId, after: tail.at(-1)!.cursor } }, () => false, 3_000)).toEqual([]);
    // From the start, a delivered order's whole history, then the end.
    const all = await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId } }, () => false, 3_000);
    expect(all.map((c) => c.status)).toEqual(['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'SHIPMENT_SCHEDULED', 'COMPLETED', 'SHIPPED', 'DELIVERED']);
  });

  it('past the end of the stream, or with no cursor, is an error naming after', async () => {
    const orderId = await place();
    const beyond = String((await lastSequence()) + 1000);
    for (const request of [
      { query: watchOrder, variables: { orderId, after: beyond } },
      { query: watchCustomer, variables: { customerId: 'cus_x', after: beyond } },
      { query: watchOrder, variables: { orderId, after: 'not-a-cursor' } },
    ]) {
      const answer = await firstAnswer(gs.ws(), request);
      expect(answer.result?.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^after: /),
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', fieldViolations: [expect.objectContaining({ field: 'after' })] }),
        }),
      ]);
    }
  });
});

describe('one socket, several operations', () => {
  it('a syntax error and a failing query answer on their own operation; the subscription beside them goes on', async () => {
    const client = gs.ws();
    const customerId = 'cus_shared_socket';
    const start = String(await lastSequence());
    const watching = collect<{ status: string }>(client, { query: watchCustomer, variables: { customerId, after: start } }, (u) =>
      u.some((c) => c.status === 'COMPLETED'),
    );

    const syntax = await firstAnswer(client, { query: 'subscription { orderUpdates(customerId: "x") { status ' });
    expect(syntax.error).toEqual([expect.objectContaining({ message: expect.stringMatching(/^Syntax Error/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } })]);
    const invalid = await firstAnswer(client, { query: 'subscription { orderUpdates(customerId: "x") { nope } }' });
    expect(invalid.error).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
    const refused = await firstAnswer(client, { query: '{ orders(first: -5) { nodes { id } } }' });
    expect(refused.result?.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);

    // The first subscription still delivers on the same socket.
    await place(customerId);
    const updates = await watching;
    expect(updates.map((u) => u.status)).toContain('COMPLETED');
  });
});

describe('replaying an order from its start', () => {
  it('replays a finished order from its PLACED change', async () => {
    const orderId = await place();
    // A replay: the order has finished before anyone subscribes.
    await gs.system.waitForStatus(orderId, OrderStatus.ORDER_STATUS_COMPLETED);
    const changes = await collect<Change>(gs.ws(), { query: watchOrder, variables: { orderId } }, (c) => c.at(-1)?.status === 'COMPLETED');
    expect(changes.map((c) => c.status)).toEqual(['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'SHIPMENT_SCHEDULED', 'COMPLETED']);
  });
});
