// OrderService over gRPC: validation (nothing written), pricing from the catalog, the
// idempotency key, reads (GetOrder, BatchGetOrders, ListOrders, GetOrderHistory) and buf curl
// through reflection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGrpcFailure, type GrpcFailure } from '../platform/index.js';
import { bufCurl, waitFor } from '../platform/testing/index.js';
import { berlin, OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  h = await startOrdersHarness();
  await h.product('pen', 150, 1_000);
  await h.product('ink', 400, 1_000);
  await h.product('usd-pen', 199, 1_000, 'USD');
});
afterAll(() => h?.close());

async function failure(call: Promise<unknown>): Promise<GrpcFailure> {
  try {
    await call;
  } catch (err) {
    return readGrpcFailure(err as Parameters<typeof readGrpcFailure>[0]);
  }
  throw new Error('expected the call to fail');
}

const request = (overrides: Record<string, unknown> = {}) => ({
  customerId: 'cus_grpc',
  customerEmail: 'grace@example.com',
  items: [{ productId: 'pen', quantity: 3 }],
  shippingAddress: berlin,
  paymentToken: 'tok_ok',
  idempotencyKey: '',
  ...overrides,
});

const orderCount = () => h.ordersStore.collection('commits').countDocuments({});

describe('PlaceOrder refuses bad input, naming each field, and writes nothing', () => {
  it('names every bad field of a malformed request', async () => {
    const before = await orderCount();
    const bad = await failure(
      h.client().placeOrder(
        request({
          customerEmail: 'grace at example',
          items: [
            { productId: 'pen', quantity: 0 },
            { productId: 'pen', quantity: 2 },
          ],
          shippingAddress: { ...berlin, line1: '', country: '' },
          paymentToken: '',
        }),
      ),
    );
    expect(bad.code).toBe(3); // INVALID_ARGUMENT
    expect(bad.fieldViolations.map((v) => v.field)).toEqual([
      'customer_email',
      'items[0].quantity',
      'items[1].product_id',
      'shipping_address.line1',
      'shipping_address.country',
      'payment_token',
    ]);
    expect(await orderCount()).toBe(before);
  });

  it('an order without lines, and one without an address', async () => {
    const bad = await failure(h.client().placeOrder(request({ items: [], shippingAddress: undefined })));
    expect(bad.fieldViolations).toEqual([
      { field: 'items', description: 'must hold at least one line' },
      { field: 'shipping_address', description: 'is required' },
    ]);
  });

  it('an unknown product, by its line', async () => {
    const before = await orderCount();
    const bad = await failure(h.client().placeOrder(request({ items: [{ productId: 'pen', quantity: 1 }, { productId: 'quill', quantity: 1 }] })));
    expect(bad).toMatchObject({ code: 3, fieldViolations: [{ field: 'items[1].product_id', description: 'unknown product "quill"' }] });
    expect(await orderCount()).toBe(before);
  });

  it('products priced in two currencies', async () => {
    const bad = await failure(h.client().placeOrder(request({ items: [{ productId: 'pen', quantity: 1 }, { productId: 'usd-pen', quantity: 1 }] })));
    expect(bad.fieldViolations).toEqual([{ field: 'items', description: expect.stringContaining('more than one currency (EUR, USD)') }]);
  });
});

describe('hostile input', () => {
  it('refuses a customer id that would break the outbox (a newline in a NATS header), naming customer_id', async () => {
    const before = await orderCount();
    const bad = await failure(h.client().placeOrder(request({ customerId: 'evil\nX' })));
    expect(bad.code).toBe(3); // INVALID_ARGUMENT
    expect(bad.fieldViolations).toEqual([{ field: 'customer_id', description: expect.stringContaining('control') }]);
    expect(await orderCount()).toBe(before);
  });

  it('refuses control, bidi and lone-surrogate characters in every id, name, address and e-mail, naming each field', async () => {
    const bad = await failure(
      h.client().placeOrder(
        request({
          customerId: 'cus\u202e1',
          customerEmail: 'ada\u0085@example.com',
          // A lone surrogate arrives as U+FFFD: protobuf decodes strings as UTF-8.
          shippingAddress: { ...berlin, recipient: 'Ada\u2066', line2: 'x\u007f', city: '\ud800Berlin', region: 'r\u0000' },
          paymentToken: 'tok\r',
          idempotencyKey: 'k\u2069',
        }),
      ),
    );
    expect(bad.fieldViolations.map((v) => v.field)).toEqual([
      'customer_id',
      'customer_email',
      'shipping_address.recipient',
      'shipping_address.line2',
      'shipping_address.city',
      'shipping_address.region',
      'payment_token',
      'idempotency_key',
    ]);
    const cancel = await failure(h.client().cancelOrder({ orderId: 'ord_1', reason: 'because\u001b[31m' }));
    expect(cancel.fieldViolations).toEqual([{ field: 'reason', description: expect.stringContaining('U+001B') }]);
    const list = await failure(h.client().listOrders({ customerId: 'c\u009b', statuses: [], pageSize: 0, pageToken: '' }));
    expect(list.fieldViolations.map((v) => v.field)).toEqual(['customer_id']);
  });

  it('takes an e-mail only as one plain address', async () => {
    for (const customerEmail of ['Ada <ada@example.com>', 'ada@example.com, eve@example.com', 'group:ada@example.com;', 'ada @example.com', `${'a'.repeat(250)}@example.com`]) {
      const bad = await failure(h.client().placeOrder(request({ customerEmail })));
      expect(bad.fieldViolations.map((v) => v.field), customerEmail).toEqual(['customer_email']);
    }
  });

  it('bounds the error of a request with hundreds of bad values, and the channel keeps working', async () => {
    const statuses = Array.from({ length: 800 }, (_, i) => 1_000 + i);
    const bad = await failure(h.client().listOrders({ customerId: 'cus_x', statuses, pageSize: 0, pageToken: '' }));
    expect(bad.code).toBe(3);
    expect(bad.fieldViolations).toHaveLength(21);
    expect(bad.fieldViolations[0]).toEqual({ field: 'statuses[0]', description: 'must be a known order status' });
    expect(bad.fieldViolations[20]).toEqual({ field: 'request', description: 'and 780 more' });
    // The same client, so the same channel: it still answers.
    expect((await h.client().listOrders({ customerId: 'cus_x', statuses: [], pageSize: 0, pageToken: '' })).orders).toEqual([]);
  });
});

describe('the idempotency key', () => {
  it('returns the same order for the same request, refuses a different one, and places one order only', async () => {
    const first = await h.client().placeOrder(request({ idempotencyKey: 'checkout-42' }));
    const again = await h.client().placeOrder(request({ idempotencyKey: 'checkout-42' }));
    expect(again.order!.id).toBe(first.order!.id);
    expect(first.order!.id).toMatch(/^ord_[0-9a-f]{32}$/);

    const other = await failure(h.client().placeOrder(request({ idempotencyKey: 'checkout-42', items: [{ productId: 'ink', quantity: 1 }] })));
    expect(other.code).toBe(6); // ALREADY_EXISTS
    expect(other.message).toContain('idempotency_key "checkout-42"');

    // Another customer's key of the same spelling is another order.
    const theirs = await h.client().placeOrder(request({ idempotencyKey: 'checkout-42', customerId: 'cus_other' }));
    expect(theirs.order!.id).not.toBe(first.order!.id);

    await h.waitForStatus(first.order!.id, OrderStatus.ORDER_STATUS_COMPLETED);
    const late = await h.client().placeOrder(request({ idempotencyKey: 'checkout-42' }));
    expect(late.order).toMatchObject({ id: first.order!.id, status: OrderStatus.ORDER_STATUS_COMPLETED });
    expect(late.version).toBe(late.order!.version);
    expect(await h.ledger(first.order!.id)).toMatchObject({ captures: 1, capturedMinor: 450 });
  });

  it('concurrent retries under one key place one order', async () => {
    const answers = await Promise.all([1, 2, 3].map(() => h.client().placeOrder(request({ idempotencyKey: 'double-click' }))));
    expect(new Set(answers.map((a) => a.order!.id)).size).toBe(1);
    const orderId = answers[0]!.order!.id;
    await h.waitForStatus(orderId, OrderStatus.ORDER_STATUS_COMPLETED);
    expect((await h.history(orderId)).filter((e) => e === 'OrderPlaced')).toHaveLength(1);
  });
});

describe('reads', () => {
  it('NOT_FOUND for an unknown order on every read and on cancel', async () => {
    for (const call of [
      h.client().getOrder({ orderId: 'ord_nope' }),
      h.client().getOrderHistory({ orderId: 'ord_nope' }),
      h.client().cancelOrder({ orderId: 'ord_nope', reason: '' }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: 5 });
    }
  });

  it('BatchGetOrders answers found ones in request order, each once, and names the missing', async () => {
    const a = await h.place([{ productId: 'pen', quantity: 1 }], { customerId: 'cus_batch' });
    const b = await h.place([{ productId: 'ink', quantity: 1 }], { customerId: 'cus_batch' });
    const { orders, missingOrderIds } = await h.client().batchGetOrders({ orderIds: [b.id, 'ord_missing', a.id, b.id] });
    expect(orders.map((o) => o.id)).toEqual([b.id, a.id]);
    expect(missingOrderIds).toEqual(['ord_missing']);
  });

  it('ListOrders pages newest first by customer and filters by status', async () => {
    const placed = [];
    for (let i = 0; i < 5; i++) placed.push(await h.place([{ productId: 'pen', quantity: 1 }], { customerId: 'cus_list' }));
    const declined = await h.place([{ productId: 'pen', quantity: 1 }], { customerId: 'cus_list', paymentToken: 'tok_declined' });
    await h.waitForStatus(declined.id, OrderStatus.ORDER_STATUS_CANCELLED);
    for (const o of placed) await h.waitForStatus(o.id, OrderStatus.ORDER_STATUS_COMPLETED);

    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await h.client().listOrders({ customerId: 'cus_list', statuses: [], pageSize: 4, pageToken });
      seen.push(...page.orders.map((o) => o.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...placed, declined].sort(newestFirst).map((o) => o.id));

    const cancelled = await h.client().listOrders({ customerId: 'cus_list', statuses: [OrderStatus.ORDER_STATUS_CANCELLED], pageSize: 0, pageToken: '' });
    expect(cancelled.orders.map((o) => [o.id, o.status])).toEqual([[declined.id, OrderStatus.ORDER_STATUS_CANCELLED]]);
    expect(cancelled.nextPageToken).toBe('');
  });

  it('GetOrderHistory lists the stream with versions and times', async () => {
    const placed = await h.place([{ productId: 'ink', quantity: 2 }]);
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_COMPLETED);
    const { entries } = await h.client().getOrderHistory({ orderId: placed.id });
    expect(entries.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(entries[0]).toMatchObject({ type: 'orderflow.orders.v1.OrderPlaced', summary: 'placed: 1 line(s), total 800 EUR (minor units)' });
    expect(entries.every((e) => e.occurredAt instanceof Date)).toBe(true);
    expect(entries.at(-1)).toMatchObject({ type: 'orderflow.orders.v1.OrderCompleted', summary: 'completed' });
  });
});

describe('buf curl through reflection', () => {
  it('places and reads an order as a user would from a shell', async () => {
    const address = `http://${h.replicas[0]!.grpcAddress}`;
    const body = JSON.stringify({
      customer_id: 'cus_curl',
      customer_email: 'curl@example.com',
      items: [{ product_id: 'pen', quantity: 2 }],
      shipping_address: { recipient: 'Curl', line1: 'Main St 1', city: 'Paris', postal_code: '75001', country: 'FR' },
      payment_token: 'tok_ok',
    });
    const placed = JSON.parse(await bufCurl('-d', body, `${address}/orderflow.orders.v1.OrderService/PlaceOrder`)) as { order: { id: string; total: unknown } };
    expect(placed.order.total).toEqual({ amountMinor: '300', currency: 'EUR' });
    const read = await waitFor('the order to complete', async () => {
      const got = JSON.parse(await bufCurl('-d', JSON.stringify({ order_id: placed.order.id }), `${address}/orderflow.orders.v1.OrderService/GetOrder`)) as {
        order: { status: string };
      };
      return got.order.status === 'ORDER_STATUS_COMPLETED' && got;
    });
    expect(read.order).toMatchObject({ status: 'ORDER_STATUS_COMPLETED', customerId: 'cus_curl' });
  });
});

/** Newest first: by creation time descending, then id descending, as ListOrders sorts. */
function newestFirst(x: { id: string; createdAt?: Date | undefined }, y: { id: string; createdAt?: Date | undefined }): number {
  return y.createdAt!.getTime() - x.createdAt!.getTime() || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0);
}

describe('when the catalog is down', () => {
  // Last in this file: inventory stays stopped.
  it('PlaceOrder answers UNAVAILABLE and writes nothing', async () => {
    await h.stop('inventory');
    const before = await orderCount();
    const down = await failure(h.client().placeOrder(request()));
    expect(down).toMatchObject({ code: 14, reason: 'UNAVAILABLE' });
    expect(await orderCount()).toBe(before);
  });
});
