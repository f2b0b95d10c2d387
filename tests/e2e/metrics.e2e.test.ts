// Every process's /metrics, as Prometheus reads it, around one order placed through the gateway:
// each scrape parses line by line, and the counters of the gateway, the saga, and every service's
// consumers move with that order.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sampleSum, scrape, waitFor, type Sample } from '../../services/platform/testing/index.js';
import { startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

let gs: GatewaySystem;
const services = ['orders', 'inventory', 'payments', 'shipping', 'query', 'notifications'] as const;
const processes = [...services, 'gateway'] as const;

beforeAll(async () => {
  gs = await startGatewaySystem();
  await gs.data(`mutation { createProduct(input: { sku: "MET-TEA", name: "Tea", price: { amountMinor: 450, currency: "EUR" }, onHand: 10 }) { sku } }`);
});

afterAll(async () => {
  await gs?.close();
});

async function scrapeAll(): Promise<Record<(typeof processes)[number], Sample[]>> {
  const entries = await Promise.all(processes.map(async (name) => [name, await scrape(gs.system.metricsUrl(name))] as const));
  return Object.fromEntries(entries) as Record<(typeof processes)[number], Sample[]>;
}

it('moves the gateway\'s, the saga\'s and every consumer\'s counters with one order, on every process', async () => {
  const before = await scrapeAll();
  const customer = await gs.as({ customer: 'cus_metrics' });
  const placed = await customer.data<{ placeOrder: { order: { id: string } } }>(
    `mutation PlaceForMetrics($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`,
    {
      input: {
        customerId: 'cus_metrics',
        customerEmail: 'metrics@example.com',
        items: [{ productId: 'MET-TEA', quantity: 1 }],
        shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
        paymentToken: 'tok_ok',
      },
    },
  );
  await waitFor(
    'the order to complete',
    async () => (await customer.data<{ order: { status: string } }>(`query($id: ID!) { order(id: $id) { status } }`, { id: placed.placeOrder.order.id })).order.status === 'COMPLETED',
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const moved = (after: Record<string, Sample[]>, process: (typeof processes)[number], name: string, labels: Record<string, string> = {}) =>
    sampleSum(after[process]!, name, labels) - sampleSum(before[process], name, labels);
  // The read side and the e-mails follow the saga's end: wait until their consumers took its events.
  const after = await waitFor(
    'every service\'s consumers to have handled the order\'s messages',
    async () => {
      const now = await scrapeAll();
      return services.every((s) => moved(now, s, 'orderflow_consumer_acked_total') >= 1) ? now : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );

  expect(moved(after, 'gateway', 'orderflow_graphql_requests_total', { operation: 'PlaceForMetrics', type: 'mutation' })).toBe(1);
  expect(moved(after, 'gateway', 'orderflow_graphql_errors_total', { operation: 'PlaceForMetrics' })).toBe(0);
  expect(moved(after, 'orders', 'orderflow_orders_placed_total')).toBe(1);
  expect(moved(after, 'orders', 'orderflow_saga_outcomes_total', { outcome: 'completed' })).toBe(1);
  expect(moved(after, 'orders', 'orderflow_grpc_server_requests_total', { method: '/orderflow.orders.v1.OrderService/PlaceOrder' })).toBe(1);
  for (const service of services) {
    expect(moved(after, service, 'orderflow_consumer_delivered_total'), service).toBeGreaterThanOrEqual(1);
    expect(moved(after, service, 'orderflow_consumer_dead_lettered_total'), service).toBe(0);
  }
  for (const process of processes) expect(sampleSum(after[process], 'process_cpu_user_seconds_total'), process).toBeGreaterThan(0);
});
