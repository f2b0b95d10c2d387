import { DeliverPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { OrderStatus, orderStatusToJSON, type Order } from '../../generated/orderflow/orders/v1/order.js';
import { QueryServiceService } from '../../generated/orderflow/query/v1/query_service.js';
import { decodeMessage, grpcClient, readMetadata, silentLogger, type GrpcClient } from '../../services/platform/index.js';
import { consumerDrained, waitFor } from '../../services/platform/testing/index.js';
import { bootQuery, foldOrderView, type QueryService, type ViewEvent } from '../../services/query/index.js';
import { startDuplicator } from './harness/duplicator.js';
import { startSystem, type System } from './harness/system.js';

// The read side after a mixed run with every message delivered twice: every order view equals a
// fold of the events, a rebuild from zero ends identical, read-your-writes never returns older
// state, and the analytics equal what the test computes from the orders it placed.
const address = (country: string): Address => ({ recipient: 'Ada', line1: 'Main 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country });
let system: System;
let query: QueryService;
let client: GrpcClient<typeof QueryServiceService>;
let duplicator: Awaited<ReturnType<typeof startDuplicator>>;
const placed: Order[] = [];

beforeAll(async () => {
  // A short charge deadline and a slower tok_timeout make one order end STEP_TIMED_OUT.
  system = await startSystem({ replicas: 1, env: { PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: '1500', SAGA_CHARGE_PAYMENT_DEADLINE_MS: '700' } });
  duplicator = await startDuplicator(system.nats);
  query = await bootQuery(
    { ...system.natsEnv('query'), DATA_DIR: system.dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', QUERY_WAIT_MS: '1500', ...system.issuer.env },
    { logger: silentLogger() },
  );
  client = grpcClient(QueryServiceService, query.grpcAddress, { authorization: system.adminAuthorization });
  await system.inventory.createProduct({ sku: 'RS-TEA', name: 'Tea', price: { amountMinor: 450, currency: 'EUR' }, onHand: 40 });
  await system.inventory.createProduct({ sku: 'RS-RARE', name: 'Rare', price: { amountMinor: 9900, currency: 'EUR' }, onHand: 1 });
  const plans: { items: OrderItem[]; token: string; country: string; cancel?: boolean }[] = [];
  for (let i = 0; i < 12; i++) plans.push({ items: [{ productId: 'RS-TEA', quantity: 1 + (i % 3) }], token: 'tok_ok', country: 'DE' });
  plans.push({ items: [{ productId: 'RS-TEA', quantity: 1 }], token: 'tok_declined', country: 'DE' });
  plans.push({ items: [{ productId: 'RS-RARE', quantity: 2 }], token: 'tok_ok', country: 'DE' }); // out of stock
  plans.push({ items: [{ productId: 'RS-TEA', quantity: 1 }], token: 'tok_ok', country: 'JP' }); // not served
  plans.push({ items: [{ productId: 'RS-TEA', quantity: 1 }], token: 'tok_flaky', country: 'DE', cancel: true });
  plans.push({ items: [{ productId: 'RS-TEA', quantity: 1 }], token: 'tok_timeout', country: 'DE' });
  for (const [i, plan] of plans.entries()) {
    const { order } = await system.orders[0]!.placeOrder({
      customerId: `cus_rs_${i % 3}`,
      customerEmail: `rs${i % 3}@example.com`,
      items: plan.items,
      shippingAddress: address(plan.country),
      paymentToken: plan.token,
      idempotencyKey: `rs-${i}`,
    });
    if (plan.cancel) await system.orders[0]!.cancelOrder({ orderId: order!.id, reason: 'no longer needed' }).catch(() => undefined);
    placed.push(order!);
  }
  await system.waitUntilTerminal(placed.map((o) => o.id), 60_000);
  // The timed-out charge is voided at the deadline; the card gateway's late answer (a decline,
  // PAYMENT_GATEWAY_TIMEOUT_DELAY_MS later) is the run's last event. Wait for it, so the read
  // models below are compared once nothing more is coming.
  const timedOut = placed.at(-1)!.id;
  await waitFor(
    'the late decline of the timed-out charge',
    async () => {
      const last = await system.nats.jsm.streams.getMessage('PAYMENTS_EVENTS', { last_by_subj: 'payments.events.PaymentDeclined' });
      if (readMetadata(last!.header).correlationId === timedOut) return true;
      throw new Error('not published yet');
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
});

afterAll(async () => {
  client?.close();
  await duplicator?.stop();
  await query?.close();
  await system?.close();
});

/** Every event of the streams that feed order views, grouped by order, as the view keeps them. */
async function eventsByOrder(): Promise<Map<string, ViewEvent[]>> {
  const byOrder = new Map<string, ViewEvent[]>();
  for (const stream of ['ORDERS_EVENTS', 'PAYMENTS_EVENTS', 'SHIPPING_EVENTS']) {
    const last = (await system.nats.jsm.streams.info(stream)).state.last_seq;
    const consumer = await system.nats.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume();
    for await (const m of messages) {
      const meta = readMetadata(m.headers);
      const orderId = meta.correlationId;
      const decoded = decodeMessage(meta.type, m.data) as { occurredAt?: Date };
      byOrder.set(orderId, [
        ...(byOrder.get(orderId) ?? []),
        {
          id: `${meta.streamId}@${meta.streamVersion}`,
          type: meta.type,
          version: stream === 'ORDERS_EVENTS' ? (meta.streamVersion ?? 0) : 0,
          occurredAt: decoded.occurredAt ?? new Date(0),
          data: Buffer.from(m.data).toString('base64'),
        },
      ]);
      if (m.seq >= last) break;
    }
    await messages.close();
  }
  return byOrder;
}

async function allViews() {
  const views = [];
  for (const order of placed) views.push((await client.getOrderView({ orderId: order.id, minVersion: 0 })).order!);
  return views;
}

describe('read models', () => {
  it('catch up to every order and equal a fold of its events, duplicates and all', async () => {
    for (const order of placed) {
      const final = (await system.orders[0]!.getOrder({ orderId: order.id })).order!;
      const { order: view } = await client.getOrderView({ orderId: order.id, minVersion: final.version });
      expect(view!.status, `${order.id}`).toBe(final.status);
      expect(view!.version).toBe(final.version);
    }
    expect(duplicator.copies()).toBeGreaterThan(0);
    // Payment and shipping events reach the views through their own consumers: let them finish.
    for (const stream of ['ORDERS_EVENTS', 'PAYMENTS_EVENTS', 'SHIPPING_EVENTS']) {
      await consumerDrained(system.nats, stream, `query-order-views-${stream.split('_')[0]!.toLowerCase()}`);
    }
    const events = await eventsByOrder();
    for (const view of await allViews()) {
      const replayed = foldOrderView(view.orderId, events.get(view.orderId) ?? []);
      expect(view).toMatchObject({
        status: replayed.status,
        version: replayed.version,
        paymentStatus: replayed.paymentStatus,
        shipmentStatus: replayed.shipmentStatus,
        cancellationReason: replayed.cancellationReason,
        items: replayed.items,
        total: replayed.total,
      });
      expect(Object.keys(view.stepTimes).sort()).toEqual(Object.keys(replayed.stepTimes).sort());
    }
  });

  it('rebuilds the order views from zero into the same state', async () => {
    const before = await allViews();
    const streams = ['ORDERS_EVENTS', 'PAYMENTS_EVENTS', 'SHIPPING_EVENTS'];
    const lastSeqs = await Promise.all(streams.map(async (stream) => (await system.nats.jsm.streams.info(stream)).state.last_seq));
    const { eventsReplayed } = await client.rebuildProjection({ projection: 'order_views' });
    expect(eventsReplayed).toBeGreaterThan(placed.length);
    expect(await allViews()).toEqual(before);
    // Checkpoints are written in batches; a finished rebuild has written its own, so the report shows the replay's end.
    const { projections } = await client.getProjectionStatus({});
    for (const [i, stream] of streams.entries()) {
      const status = projections.find((p) => p.name === `order_views:${stream}`);
      expect(status?.checkpoint, stream).toBeGreaterThanOrEqual(lastSeqs[i]!);
      expect(status?.lag, stream).toBe(0);
    }
  });

  it('computes the analytics the test computes from the orders it placed', async () => {
    const orders = await Promise.all(placed.map(async (o) => (await system.orders[0]!.getOrder({ orderId: o.id })).order!));
    const ledgers = await Promise.all(placed.map((o) => system.ledger(o.id)));
    const completed = orders.filter((o) => o.status === OrderStatus.ORDER_STATUS_COMPLETED);
    const captured = ledgers.reduce((n, l) => n + l.capturedMinor, 0);
    const refunded = ledgers.reduce((n, l) => n + l.refundedMinor, 0);
    // Payment events feed the views through their own consumer: wait until it has caught up.
    const analytics = await waitFor('analytics to include every payment event', async () => {
      const { analytics: a } = await client.getSalesAnalytics({ fromDay: '', toDay: '', readAfter: undefined });
      const t = a!.totals!;
      if (t.revenueCaptured?.amountMinor === captured && t.revenueRefunded?.amountMinor === refunded) return a;
      throw new Error(`captured ${t.revenueCaptured?.amountMinor} of ${captured}, refunded ${t.revenueRefunded?.amountMinor} of ${refunded}`);
    });
    const totals = analytics.totals!;
    const byStatus: Record<string, number> = {};
    // Named as Order.status names them: without the ORDER_STATUS_ prefix.
    const name = (o: Order) => orderStatusToJSON(o.status).replace(/^ORDER_STATUS_/, '');
    for (const o of orders) byStatus[name(o)] = (byStatus[name(o)] ?? 0) + 1;
    expect(totals.ordersByStatus).toEqual(byStatus);
    expect(totals.averageOrderValue?.amountMinor).toBe(Math.round(completed.reduce((n, o) => n + o.total!.amountMinor, 0) / completed.length));
    expect(Object.values(totals.cancellationReasons).reduce((a, b) => a + b, 0)).toBe(orders.length - completed.length);
    expect(analytics.days).toHaveLength(1);
    expect(totals.placedToCompletedP95!.seconds * 1000 + totals.placedToCompletedP95!.nanos / 1e6).toBeGreaterThan(0);
  });

  it('answers a query with a minimum version only with that version or newer, and gives up after the bound', async () => {
    const { order, version } = await system.orders[0]!.placeOrder({
      customerId: 'cus_ryw',
      customerEmail: 'ryw@example.com',
      items: [{ productId: 'RS-TEA', quantity: 1 }],
      shippingAddress: address('DE'),
      paymentToken: 'tok_ok',
      idempotencyKey: 'ryw-1',
    });
    const { order: view } = await client.getOrderView({ orderId: order!.id, minVersion: version });
    expect(view!.version).toBeGreaterThanOrEqual(version);
    await expect(client.getOrderView({ orderId: order!.id, minVersion: 10_000 })).rejects.toMatchObject({ code: 14 });
    const customer = await client.getCustomer({ customerId: 'cus_ryw', recentOrdersLimit: 5, readAfter: { orderId: order!.id, minVersion: version } });
    expect(customer.customer!.recentOrders.map((o) => o.orderId)).toContain(order!.id);
    const { analytics } = await client.getSalesAnalytics({ fromDay: '', toDay: '', readAfter: { orderId: order!.id, minVersion: version } });
    const counted = Object.values(analytics!.totals!.ordersByStatus).reduce((a, b) => a + b, 0);
    expect(counted).toBe(placed.length + 1);
  });

  it('tracks product availability from the inventory events, and rebuilds it identical', async () => {
    const matches = async () => {
      const product = await system.product('RS-TEA');
      const { product: seen } = await client.getProductAvailability({ sku: 'RS-TEA' });
      return seen!.onHand === product.onHand && seen!.available === product.available && seen!.reserved === product.reserved;
    };
    await waitFor('availability to match inventory', matches);
    const before = (await client.listProductAvailability({ pageSize: 0, pageToken: '' })).products;
    await client.rebuildProjection({ projection: 'product_availability' });
    expect((await client.listProductAvailability({ pageSize: 0, pageToken: '' })).products).toEqual(before);
  });

  it('records every cancellation reason of the run', async () => {
    const { analytics } = await client.getSalesAnalytics({ fromDay: '', toDay: '', readAfter: undefined });
    expect(Object.keys(analytics!.totals!.cancellationReasons).sort()).toEqual(
      [
        'CUSTOMER_REQUESTED',
        'OUT_OF_STOCK',
        'PAYMENT_DECLINED',
        'SHIPMENT_FAILED',
        'STEP_TIMED_OUT',
      ].sort(),
    );
  });
});
