/**
 * Micro-bench (through the e2e test harness, logs silent; `npm run bench` is the production-shape
 * bench): the GraphQL edge on this machine, every service and the gateway as test processes: the latency of
 * listing orders with their products, payments and shipments (four subgraphs, four batched gRPC
 * calls), and of a status change reaching a subscriber (placeOrder over HTTP → COMPLETED over
 * graphql-ws). Settings: BENCH_ORDERS (orders listed, default 50), BENCH_QUERIES (default 200),
 * BENCH_SUBSCRIBED (orders watched, default 50).
 */
import { collect, startGatewaySystem } from '../../tests/e2e/harness/gateway.js';

const orders = Number(process.env.BENCH_ORDERS ?? 50);
const queries = Number(process.env.BENCH_QUERIES ?? 200);
const subscribed = Number(process.env.BENCH_SUBSCRIBED ?? 50);
const say = (line: string) => process.stdout.write(`${line}\n`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`;
};

const placeOrder = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`;
const input = (i: number) => ({
  customerId: 'cus_bench',
  customerEmail: 'bench@example.com',
  items: [{ productId: 'BENCH', quantity: 1 }],
  shippingAddress: { recipient: 'Bench', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  paymentToken: 'tok_ok',
  idempotencyKey: `gateway-bench-${i}`,
});

say(`micro-bench, GraphQL edge through the e2e harness: list ${orders} orders ${queries} times, then watch ${subscribed} orders to COMPLETED`);
const gs = await startGatewaySystem({ env: { LOG_LEVEL: 'silent', PAYMENT_GATEWAY_LATENCY_MS: '0' } });
try {
  await gs.data(`mutation { createProduct(input: { sku: "BENCH", name: "Bench", price: { amountMinor: 100, currency: "EUR" }, onHand: 1000000 }) { sku } }`);
  say(`  placing ${orders} orders`);
  await Promise.all(Array.from({ length: orders }, (_, i) => gs.data(placeOrder, { input: input(i) })));

  const listing = `query($n: Int!) { orders(customerId: "cus_bench", first: $n) { nodes { id status items { product { name } } payment { status } shipment { status } } } }`;
  const listed: number[] = [];
  for (let i = 0; i < queries; i++) {
    const started = performance.now();
    await gs.data(listing, { n: orders });
    listed.push(performance.now() - started);
    if ((i + 1) % 50 === 0) say(`  ${i + 1}/${queries} listings`);
  }
  say(`list ${orders} orders with products, payments, shipments: ${summary(listed)}`);

  const watched: number[] = [];
  const watch = `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status } }`;
  for (let i = 0; i < subscribed; i++) {
    const started = performance.now();
    const { placeOrder: placed } = await gs.data<{ placeOrder: { order: { id: string } } }>(placeOrder, { input: input(orders + i) });
    await collect<{ status: string }>(gs.ws(), { query: watch, variables: { id: placed.order.id } }, (seen) => seen.at(-1)?.status === 'COMPLETED');
    watched.push(performance.now() - started);
    if ((i + 1) % 10 === 0) say(`  ${i + 1}/${subscribed} orders watched`);
  }
  say(`placeOrder → COMPLETED seen by a subscriber: ${summary(watched)}`);
} finally {
  await gs.close();
}
