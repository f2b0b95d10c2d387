// 100 orders competing for scarce stock through two replicas at once: no oversell, the stock
// invariants hold at every moment, and the answers add up to the stock figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type { StockReserved } from '../../generated/orderflow/inventory/v1/events.js';
import { Commands } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { productsCollection, type ProductDocument } from './product.js';
import { startInventoryHarness, type InventoryHarness } from './test-harness.js';

/** A small seeded generator, so a failing run can be repeated exactly. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stock: Record<string, number> = { 'cc-a': 12, 'cc-b': 9, 'cc-c': 6, 'cc-d': 4, 'cc-e': 2 };
const skus = Object.keys(stock);
const random = mulberry32(20300301);
const orders = Array.from({ length: 100 }, (_, i) => {
  const count = 1 + Math.floor(random() * 3);
  const chosen = [...skus].sort(() => random() - 0.5).slice(0, count);
  const items: OrderItem[] = chosen.map((productId) => ({ productId, quantity: 1 + Math.floor(random() * 3) }));
  return { orderId: `ord-cc-${String(i).padStart(3, '0')}`, items };
});

let h: InventoryHarness;

beforeAll(async () => {
  h = await startInventoryHarness();
  await h.boot();
  const client = h.client();
  for (const [sku, onHand] of Object.entries(stock)) {
    await client.createProduct({ sku, name: sku, price: { amountMinor: 100, currency: 'EUR' }, onHand });
  }
});
afterAll(() => h?.close());

const docs = () => h.store.collection<ProductDocument>(productsCollection).find({ _id: { $in: skus } });

/** The invariants every product document must satisfy at every moment. */
function checkInvariants(doc: ProductDocument, initial: number): string[] {
  const broken: string[] = [];
  if (doc.available < 0 || doc.reserved < 0 || doc.shipped < 0) broken.push(`${doc._id}: negative stock ${JSON.stringify(doc)}`);
  if (doc.onHand !== doc.available + doc.reserved) broken.push(`${doc._id}: on_hand ${doc.onHand} != ${doc.available} + ${doc.reserved}`);
  if (doc.onHand + doc.shipped !== initial) broken.push(`${doc._id}: on_hand ${doc.onHand} + shipped ${doc.shipped} != ${initial}`);
  return broken;
}

/** Once nothing is in flight: no stock move left in progress, and reserved is what the orders hold. */
async function checkAtRest(doc: ProductDocument): Promise<string[]> {
  const held = Object.values(await h.heldUnits(doc._id)).reduce((sum, n) => sum + n, 0);
  const broken: string[] = [];
  if (Object.keys(doc.marks ?? {}).length > 0 || (doc.marked ?? 0) !== 0) broken.push(`${doc._id}: moves left in progress ${JSON.stringify(doc.marks)}`);
  if (doc.reserved !== held) broken.push(`${doc._id}: reserved ${doc.reserved} != held ${held}`);
  return broken;
}

/** Watches the documents while commands run, collecting every broken invariant seen. */
function watchInvariants(): { stop(): Promise<string[]> } {
  const broken: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const doc of await docs()) broken.push(...checkInvariants(doc, stock[doc._id]!));
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return broken;
    },
  };
}

describe('100 concurrent reservations on two replicas', () => {
  it('never oversells, and the answers add up to the stock figures', async () => {
    const watch = watchInvariants();
    // Every fifth order is sent twice, as a saga resending after a timeout would.
    await Promise.all(
      orders.flatMap((o, i) => {
        const send = () => h.send(Commands.ReserveStock, o);
        return i % 5 === 0 ? [send(), send()] : [send()];
      }),
    );
    await waitFor('an answer to every order', () => orders.every((o) => h.answers(o.orderId).length >= 1), { timeoutMs: 30_000 });
    await h.settled();
    expect(await watch.stop()).toEqual([]);

    const reservedBy = new Map<string, OrderItem[]>();
    for (const o of orders) {
      const answers = h.answers(o.orderId);
      expect(answers, `answers of ${o.orderId}`).toHaveLength(1);
      const [answer] = answers;
      if (answer!.type === 'orderflow.inventory.v1.StockReserved') {
        const data = answer!.data as unknown as StockReserved;
        expect(data.items).toEqual(o.items);
        reservedBy.set(o.orderId, data.items);
      } else {
        expect(answer!.type).toBe('orderflow.inventory.v1.StockReservationFailed');
        expect((answer!.data.shortages as unknown[]).length).toBeGreaterThan(0);
      }
    }
    // Scarce stock: some orders win, many lose.
    expect(reservedBy.size).toBeGreaterThan(5);
    expect(reservedBy.size).toBeLessThan(orders.length);

    for (const doc of await docs()) {
      expect(checkInvariants(doc, stock[doc._id]!)).toEqual([]);
      expect(await checkAtRest(doc)).toEqual([]);
      const promised = [...reservedBy.values()].flat().filter((i) => i.productId === doc._id).reduce((sum, i) => sum + i.quantity, 0);
      expect(doc.reserved, `reserved units of ${doc._id}`).toBe(promised);
      expect(doc.reserved).toBeLessThanOrEqual(stock[doc._id]!);
      const holders = [...reservedBy].filter(([, items]) => items.some((i) => i.productId === doc._id)).map(([id]) => id);
      expect(Object.keys(await h.heldUnits(doc._id)).sort()).toEqual(holders.sort());
    }
    const handledBy = new Set(h.logLines.filter((l) => String(l.orderId).startsWith('ord-cc-')).map((l) => l.replica));
    expect(handledBy, 'both replicas handled reservations').toEqual(new Set([1, 2]));

    // Settle every reservation at once: odd ones shipped, even ones given back.
    const winners = [...reservedBy.keys()];
    const watchSettle = watchInvariants();
    await Promise.all(
      winners.map((orderId, i) =>
        i % 2 === 0 ? h.send(Commands.CommitStock, { orderId }) : h.send(Commands.ReleaseStock, { orderId, reason: 'cancelled' }),
      ),
    );
    await waitFor('every reservation settled', () => winners.every((id) => h.answers(id).length >= 2), { timeoutMs: 30_000 });
    await h.settled();
    expect(await watchSettle.stop()).toEqual([]);
    for (const doc of await docs()) {
      const shipped = winners
        .filter((_, i) => i % 2 === 0)
        .flatMap((id) => reservedBy.get(id)!)
        .filter((i) => i.productId === doc._id)
        .reduce((sum, i) => sum + i.quantity, 0);
      expect(doc).toMatchObject({ reserved: 0, shipped, onHand: stock[doc._id]! - shipped, available: stock[doc._id]! - shipped });
      expect(await checkAtRest(doc)).toEqual([]);
      expect(await h.heldUnits(doc._id)).toEqual({});
    }
    for (const id of winners) expect(h.answers(id)).toHaveLength(2);
  });
});
