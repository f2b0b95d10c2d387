// Product availability against inventory itself: multi-line orders reserved, released and
// committed all at once through two inventory replicas, restocks in between, then a redrive of
// old inventory events. Afterwards the read model shows exactly inventory's stock for every
// product: levels applied out of order or re-published never rewind it.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { productsCollection, type ProductDocument } from '../inventory/product.js';
import { startInventoryHarness, type InventoryHarness } from '../inventory/test-harness.js';
import { Commands, silentLogger } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { bootQuery, type QueryService } from './index.js';
import type { AvailabilityDocument } from './views.js';
import { itUnlessServerLacks } from '../platform/testing/ferretdb.js';

const skus = ['av-a', 'av-b', 'av-c', 'av-d'];
// Every order takes 2-4 lines of the same few products, so their levels interleave.
const orders = Array.from({ length: 48 }, (_, i) => ({
  orderId: `ord-av-${i}`,
  items: skus.filter((_, s) => (i + s) % 4 !== 3 || i % 2 === 0).map((productId, s): OrderItem => ({ productId, quantity: 1 + ((i + s) % 3) })),
}));

// Two inventory replicas move one product's stock at once (see atomicUpdates).
const itUnlessAtomic = await itUnlessServerLacks('atomicUpdates');

let h: InventoryHarness;
let query: QueryService;
let queryDir: string;

beforeAll(async () => {
  h = await startInventoryHarness();
  await h.boot();
  queryDir = await mkdtemp(join(tmpdir(), 'orderflow-query-'));
  query = await bootQuery(
    { NATS_URL: h.natsUrl, DATA_DIR: queryDir, AUTH_DISABLED: 'true', GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', QUERY_CONCURRENCY: '16' },
    { logger: silentLogger() },
  );
  const client = h.client();
  for (const sku of skus) await client.createProduct({ sku, name: sku, price: { amountMinor: 100, currency: 'EUR' }, onHand: 200 });
});

afterAll(async () => {
  await query?.close();
  await h?.close();
  if (queryDir) await rm(queryDir, { recursive: true, force: true });
});

/** Waits until the availability projection has acknowledged every inventory event published so far. */
async function availabilityDrained(): Promise<void> {
  const last = (await h.nats.jsm.streams.info('INVENTORY_EVENTS')).state.last_seq;
  await waitFor(`the availability projection to acknowledge up to ${last}`, async () => {
    const info = await h.nats.jsm.consumers.info('INVENTORY_EVENTS', 'query-product-availability-inventory');
    if (info.ack_floor.stream_seq >= last && info.num_ack_pending === 0) return true;
    throw new Error(`ack floor ${info.ack_floor.stream_seq}, ${info.num_ack_pending} pending`);
  });
}

async function expectAvailabilityEqualsInventory(): Promise<void> {
  const stock = await h.store.collection<ProductDocument>(productsCollection).find({ _id: { $in: skus } }, { sort: { _id: 1 } });
  const shown = await query.runtime.store.collection<AvailabilityDocument>('product_availability').find({ _id: { $in: skus } }, { sort: { _id: 1 } });
  expect(shown.map(({ sku, onHand, available, reserved }) => ({ sku, onHand, available, reserved }))).toEqual(
    stock.map((d) => ({ sku: d._id, onHand: d.onHand, available: d.available, reserved: d.reserved })),
  );
}

/** Publishes copies of INVENTORY_EVENTS messages up to `lastSeq` again, as a redrive does: same headers, new message id. */
async function republish(lastSeq: number): Promise<number> {
  const consumer = await h.nats.js.consumers.get('INVENTORY_EVENTS', { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  let count = 0;
  for await (const m of messages) {
    if (m.seq > lastSeq) break;
    const copy = natsHeaders();
    for (const [key, values] of m.headers ?? []) for (const value of values) if (key !== 'Nats-Msg-Id') copy.append(key, value);
    const id = `redrive-${randomUUID()}`;
    copy.set('Nats-Msg-Id', id);
    await h.nats.js.publish(m.subject, m.data, { headers: copy, msgID: id });
    count++;
    if (m.seq >= lastSeq) break;
  }
  await messages.close();
  return count;
}

itUnlessAtomic('shows inventory stock for every product after concurrent multi-line orders and a redrive of old events', async () => {
  await Promise.all(orders.map((o) => h.send(Commands.ReserveStock, { orderId: o.orderId, items: o.items })));
  await h.settled();
  const afterReservations = (await h.nats.jsm.streams.info('INVENTORY_EVENTS')).state.last_seq;
  await Promise.all([
    ...orders.map((o, i) =>
      i % 2 === 0 ? h.send(Commands.ReleaseStock, { orderId: o.orderId, reason: 'declined' }) : h.send(Commands.CommitStock, { orderId: o.orderId }),
    ),
    ...skus.map((sku) => h.client().restock({ sku, quantity: 7 })),
  ]);
  await h.settled();
  await availabilityDrained();
  await expectAvailabilityEqualsInventory();

  // An operator re-publishes the reservation answers (older levels) long after.
  expect(await republish(afterReservations)).toBeGreaterThan(orders.length);
  await availabilityDrained();
  await expectAvailabilityEqualsInventory();
});
