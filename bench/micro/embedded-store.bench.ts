/**
 * Micro-bench, one process: CPU cost per operation of the embedded SQLite engine on a file
 * database, for the operations services run most (single documents by `_id`). Each operation
 * runs `BENCH_OPS` times (default 5000) on order-shaped documents in a collection with two
 * indexes (as the query service's orders have), and prints ops/s and µs/op.
 * Run: node --import tsx bench/micro/embedded-store.bench.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore, type Doc } from '../../services/platform/storage/index.js';

const total = Number(process.env.BENCH_OPS ?? 5_000);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Order extends Doc {
  customerId: string;
  status: string;
  version: number;
  placedAt: Date;
  lines: { sku: string; qty: number; price: { amount: number; currency: string } }[];
  total: { amount: number; currency: string };
}

const order = (i: number): Order => ({
  _id: `o-${i}`,
  customerId: `c-${i % 100}`,
  status: 'PENDING',
  version: 0,
  placedAt: new Date(1_700_000_000_000 + i),
  lines: [
    { sku: `sku-${i % 7}`, qty: 1, price: { amount: 1_250, currency: 'EUR' } },
    { sku: `sku-${i % 11}`, qty: 2, price: { amount: 300, currency: 'EUR' } },
  ],
  total: { amount: 1_850, currency: 'EUR' },
});

async function measure(label: string, op: (i: number) => Promise<unknown>): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < total; i++) await op(i);
  const seconds = (performance.now() - started) / 1_000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = (cpu.user + cpu.system) / total;
  say(`${label.padEnd(28)} ${(total / seconds).toFixed(0).padStart(7)} ops/s  ${((seconds * 1e6) / total).toFixed(1).padStart(6)} µs/op  ${cpuUs.toFixed(1).padStart(6)} µs CPU/op`);
}

const dir = await mkdtemp(join(tmpdir(), 'orderflow-engine-bench-'));
try {
  const store = await openEmbeddedStore(dir);
  const orders = store.collection<Order>('orders');
  await orders.createIndex({ customerId: 1, placedAt: -1 });
  await orders.createIndex({ placedAt: -1 });
  say(`micro-bench, embedded engine on a file database: ${total} operations each`);
  await measure('insertOne', (i) => orders.insertOne(order(i)));
  await measure('updateOne by _id ($set,$inc)', (i) => orders.updateOne({ _id: `o-${i}` }, { $set: { status: 'RESERVED' }, $inc: { version: 1 } }));
  await measure('findOneAndUpdate by _id', (i) =>
    orders.findOneAndUpdate({ _id: `o-${i}`, version: 1 }, { $set: { status: 'CHARGED', chargedAt: new Date() }, $inc: { version: 1 } }),
  );
  await measure('upsert by _id', (i) => orders.updateOne({ _id: `u-${i}` }, { $setOnInsert: { createdAt: new Date() }, $set: { n: i } }, { upsert: true }));
  await measure('findOne by _id', (i) => orders.findOne({ _id: `o-${i}` }));
  await measure('find by indexed field', (i) => orders.find({ customerId: `c-${i % 100}` }, { sort: { placedAt: -1 }, limit: 10 }));
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
