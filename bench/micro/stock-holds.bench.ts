/**
 * Micro-bench, one process (not the production shape; `npm run bench` is): the time to hold one
 * unit of a product for an order and ship it, while the product is already held by 0 to 20,000
 * other orders, with the embedded engine (or MongoDB when MONGODB_URI is set). Shows whether a
 * reservation gets slower as more orders hold the product. Run: npm run bench:micro.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createdDocument, productsCollection, type ProductDocument } from '../../services/inventory/product.js';
import { createStock } from '../../services/inventory/stock.js';
import { openDocumentStore } from '../../services/platform/index.js';

const holderCounts = (process.env.BENCH_HOLDERS ?? '0,100,1000,5000,20000').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 200);
const say = (line: string) => process.stdout.write(`${line}\n`);

const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-bench-'));
const store = await openDocumentStore({ dataDir, mongodbUri: process.env.MONGODB_URI });
try {
  const sku = 'bench-hot-product';
  const price = { amountMinor: 100, currency: 'EUR' };
  await store.collection<ProductDocument>(productsCollection).insertOne(createdDocument({ sku, name: 'Hot product', price, onHand: 10_000_000 }, new Date()));
  const stock = await createStock(store);
  const line = [{ productId: sku, quantity: 1 }];
  say(`stock holds: hold + ship of one order on a product other orders hold (${rounds} rounds per step)`);
  let holders = 0;
  for (const target of holderCounts) {
    for (; holders < target; holders++) await stock.perform(`holder-${holders}`, { kind: 'hold', lines: line }, new Date());
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      const orderId = `probe-${target}-${i}`;
      await stock.perform(orderId, { kind: 'hold', lines: line }, new Date());
      await stock.perform(orderId, { kind: 'ship', lines: line }, new Date());
    }
    say(`  ${String(target).padStart(6)} holders: ${((performance.now() - started) / rounds).toFixed(2)} ms per hold + ship`);
  }
} finally {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
}
