// Metrics of a placed order, read the way Prometheus reads them: GET /metrics on an orders replica,
// every line parsed. The harness boots the saga's services in one process, so they share its one
// registry and any replica's /metrics shows the participants' consumers too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRegistry } from '../platform/index.js';
import { sampleSum, scrape, type Sample } from '../platform/testing/index.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  h = await startOrdersHarness();
  await h.product('lamp', 3000, 10);
});
afterAll(() => h?.close());

const placeOrder = '/orderflow.orders.v1.OrderService/PlaceOrder';

describe('GET /metrics on an orders replica', () => {
  it('counts the placed order, its completed saga, its steps and the deliveries it caused', async () => {
    const url = h.replicas[0]!.metricsUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape(url);

    const order = await h.place([{ productId: 'lamp', quantity: 1 }]);
    await h.waitForStatus(order.id, OrderStatus.ORDER_STATUS_COMPLETED);
    const after = await scrape(url);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleSum(after, name, labels) - sampleSum(before, name, labels);

    expect(moved('orderflow_orders_placed_total')).toBe(1);
    expect(moved('orderflow_saga_outcomes_total', { outcome: 'completed', reason: 'none' })).toBe(1);
    expect(moved('orderflow_saga_outcomes_total', { outcome: 'cancelled' })).toBe(0);
    for (const step of ['reserve_stock', 'charge_payment', 'schedule_shipment']) {
      expect(moved('orderflow_saga_step_duration_seconds_count', { step, result: 'succeeded' }), step).toBe(1);
    }
    expect(moved('orderflow_grpc_server_requests_total', { method: placeOrder })).toBe(1);
    expect(moved('orderflow_grpc_server_duration_seconds_count', { method: placeOrder, code: 'OK' })).toBe(1);
    expect(moved('orderflow_grpc_server_errors_total', { method: placeOrder })).toBe(0);
    // Each participant's reply reached the saga: one delivery and one ack per reply stream at least.
    for (const consumer of ['INVENTORY_EVENTS/orders-inventory', 'PAYMENTS_EVENTS/orders-payments', 'SHIPPING_EVENTS/orders-shipping']) {
      expect(moved('orderflow_consumer_delivered_total', { consumer }), consumer).toBeGreaterThanOrEqual(1);
      expect(moved('orderflow_consumer_acked_total', { consumer }), consumer).toBeGreaterThanOrEqual(1);
      expect(sampleSum(after, 'orderflow_consumer_pending_messages', { consumer }), consumer).toBe(0);
    }
    expect(moved('orderflow_consumer_dead_lettered_total')).toBe(0);
    expect(moved('orderflow_outbox_published_commits_total')).toBeGreaterThanOrEqual(1);
    expect(after.some((s: Sample) => s.name === 'orderflow_outbox_backlog_commits' && s.labels.service === 'orders')).toBe(true);
    expect(sampleSum(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('keeps the same numbers in the registry as on the wire', async () => {
    const json = await metricsRegistry.getMetricsAsJSON();
    const placed = json.find((m) => m.name === 'orderflow_orders_placed_total');
    const wire = sampleSum(await scrape(h.replicas[0]!.metricsUrl!), 'orderflow_orders_placed_total');
    expect(placed?.values.reduce((sum, v) => sum + v.value, 0)).toBe(wire);
  });
});
