/**
 * The whole saga on this machine: placeOrder → COMPLETED latency at a steady rate (p50, p99), and
 * completed orders per second under a burst, with every service in this process on the embedded
 * engine (one replica each). Run: npm run bench:saga. Settings: BENCH_RATE (orders/s, default 100),
 * BENCH_SECONDS (default 10), BENCH_BURST (orders, default 1000).
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { Events, readMetadata } from '../services/platform/index.js';
import { startSystem } from '../tests/e2e/harness/system.js';

const rate = Number(process.env.BENCH_RATE ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const burst = Number(process.env.BENCH_BURST ?? 1_000);
const say = (line: string) => process.stdout.write(`${line}\n`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const address = { recipient: 'Bench', line1: 'Main 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' };

say(`saga bench: ${rate} orders/s for ${seconds} s, then a burst of ${burst}`);
const system = await startSystem({ replicas: 1, env: { LOG_LEVEL: 'silent', PAYMENT_GATEWAY_LATENCY_MS: '0' } });
try {
  await system.inventory.createProduct({ sku: 'BENCH', name: 'Bench', price: { amountMinor: 100, currency: 'EUR' }, onHand: 10_000_000 });
  const placedAt = new Map<string, number>();
  const latencies: number[] = [];
  let completed = 0;
  const consumer = await system.nats.js.consumers.get('ORDERS_EVENTS', { deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume();
  void (async () => {
    for await (const m of messages) {
      const meta = readMetadata(m.headers);
      if (meta.type !== Events.OrderCompleted.type) continue;
      const started = placedAt.get(meta.correlationId);
      if (started !== undefined) latencies.push(performance.now() - started);
      completed++;
    }
  })();
  let n = 0;
  const place = async () => {
    const i = n++;
    const started = performance.now();
    const { order } = await system.orders[0]!.placeOrder({
      customerId: `bench-${i % 100}`,
      customerEmail: 'bench@example.com',
      items: [{ productId: 'BENCH', quantity: 1 }],
      shippingAddress: address,
      paymentToken: 'tok_ok',
      idempotencyKey: `bench-${i}`,
    });
    placedAt.set(order!.id, started);
  };
  const waitCompleted = async (target: number) => {
    let last = -1;
    while (completed < target) {
      if (completed !== last) say(`  ${completed}/${target} completed`);
      last = completed;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };

  // Steady rate: one order every 1/rate s.
  const steady = rate * seconds;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < steady; i++) {
    const due = start + (i * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(place());
  }
  await Promise.all(inFlight);
  await waitCompleted(steady);
  const sorted = [...latencies].sort((a, b) => a - b);
  say(`steady ${rate}/s: placeOrder → COMPLETED p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`);

  // Burst: as many as the system takes, 64 callers at a time.
  const burstStart = performance.now();
  const before = completed;
  const callers = Array.from({ length: 64 }, async () => {
    while (n < steady + burst) await place();
  });
  await Promise.all(callers);
  await waitCompleted(before + burst);
  const burstSeconds = (performance.now() - burstStart) / 1_000;
  say(`burst: ${burst} orders completed in ${burstSeconds.toFixed(1)} s = ${(burst / burstSeconds).toFixed(0)} completed orders/s`);
  await messages.close();
} finally {
  await system.close();
}
