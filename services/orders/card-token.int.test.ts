// The card token at rest: once an order completed, no document of the orders or payments store
// holds it — not the commits (their outbox copy of ChargePayment), not order_secrets, not the
// payments' records (the simulated gateway keeps only a digest of it).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  h = await startOrdersHarness();
  await h.product('mug', 1250, 10);
});
afterAll(() => h?.close());

/** Every place a string sits in a document, base64 fields (encoded payloads) decoded as well. */
function holds(value: unknown, needle: string): boolean {
  if (typeof value === 'string') return value.includes(needle) || Buffer.from(value, 'base64').includes(needle);
  if (Array.isArray(value)) return value.some((v) => holds(v, needle));
  if (value && typeof value === 'object') return Object.values(value).some((v) => holds(v, needle));
  return false;
}

it('keeps no copy of the card token in the orders and payments stores after a completed order', async () => {
  const token = 'tok_ok';
  const order = await h.place([{ productId: 'mug', quantity: 1 }], { paymentToken: token });
  await h.waitForStatus(order.id, OrderStatus.ORDER_STATUS_COMPLETED);
  for (const service of ['orders', 'payments'] as const) {
    const store = h.stores[service];
    const names = await store.collectionNames();
    expect(names).toContain('commits');
    const holding: string[] = [];
    for (const name of names) {
      for (const doc of await store.collection(name).find({})) if (holds(doc, token)) holding.push(`${service}/${name}/${doc._id}`);
    }
    expect(holding).toEqual([]);
  }
});
