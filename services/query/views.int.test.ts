// The stored read models against the store itself (embedded, or MongoDB with MONGODB_URI): an
// order view takes one write per new event and none for a duplicate (one for events arriving
// together), ends as the events' fold however appliers and replicas race, and a view of the earlier shape (events kept) is folded on correctly;
// availability takes one write per level once the product is shown.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import type { Collection, Doc, DocumentStore } from '../platform/index.js';
import { itUnlessServerLacks } from '../platform/testing/ferretdb.js';
import { testStorage, type TestStorage } from '../platform/testing/index.js';
import { at, cancelledHistory, cancelledView, eur } from './order-view.fixtures.js';
import { decodeViewEvent } from './order-view.js';
import { readModels, type AvailabilityDocument, type OrderViewDocument } from './views.js';

const writeMethods = new Set(['insertOne', 'insertMany', 'updateOne', 'updateMany', 'findOneAndUpdate', 'replaceOne', 'deleteOne', 'deleteMany', 'drop']);

/** The store, counting the write calls made through it (each is one storage transaction). */
function countingWrites(store: DocumentStore): { store: DocumentStore; writes: () => number; reset: () => void } {
  let writes = 0;
  const counted = new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'collection') return Reflect.get(target, key, receiver) as unknown;
      return <T extends Doc>(name: string): Collection<T> =>
        new Proxy(target.collection<T>(name), {
          get(collection, method, r) {
            const value = Reflect.get(collection, method, r) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (writeMethods.has(String(method))) writes++;
              return (value as (...a: unknown[]) => unknown).apply(collection, args);
            };
          },
        });
    },
  });
  return { store: counted, writes: () => writes, reset: () => void (writes = 0) };
}

const itUnlessAtomic = await itUnlessServerLacks('atomicUpdates');

let dir: string;
let storage: TestStorage;
let store: DocumentStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orderflow-views-'));
  storage = testStorage(dir);
  store = await storage.open('query');
});

afterAll(async () => {
  await store?.close();
  await storage?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('order views', () => {
  it('take one write per new event and none for a redelivery', async () => {
    const counting = countingWrites(store);
    const models = readModels(counting.store);
    const events = cancelledHistory('ord-writes');
    for (const e of events) await models.applyOrderEvent('ord-writes', decodeViewEvent(e));
    expect(counting.writes()).toBe(events.length);
    counting.reset();
    for (const e of events) await models.applyOrderEvent('ord-writes', decodeViewEvent(e));
    expect(counting.writes()).toBe(0);
    const doc = await models.orders.findOne({ _id: 'ord-writes' });
    expect(doc).toMatchObject(cancelledView);
    expect(doc!.applied).toHaveLength(events.length);
    expect(doc).not.toHaveProperty('events');
  });

  itUnlessAtomic('end as the fold of the events when three appliers race over one order, each event delivered twice', async () => {
    const models = readModels(store);
    const events = cancelledHistory('ord-race');
    // One applier per source stream, as the three consumers are, plus one redelivering everything backwards.
    const streams = ['order-', 'payment-', 'shipment-'].map((prefix) => events.filter((e) => e.id.startsWith(prefix)));
    await Promise.all([
      ...streams.map(async (mine) => {
        for (const e of mine) await models.applyOrderEvent('ord-race', decodeViewEvent(e));
      }),
      (async () => {
        for (const e of [...events].reverse()) await models.applyOrderEvent('ord-race', decodeViewEvent(e));
      })(),
    ]);
    const doc = await models.orders.findOne({ _id: 'ord-race' });
    expect(doc).toMatchObject(cancelledView);
    expect([...doc!.applied!].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('share one write among the events of one order that arrive together', async () => {
    const counting = countingWrites(store);
    const models = readModels(counting.store);
    const events = cancelledHistory('ord-together');
    await Promise.all(events.map((e) => models.applyOrderEvent('ord-together', decodeViewEvent(e))));
    expect(counting.writes()).toBe(1);
    const doc = await models.orders.findOne({ _id: 'ord-together' });
    expect(doc).toMatchObject(cancelledView);
    expect(doc!.applied).toHaveLength(events.length);
  });

  it('read the view again when another replica wrote it after this one did, instead of overwriting its events', async () => {
    const events = cancelledHistory('ord-replicas');
    const [mine, theirs] = [readModels(store), readModels(store)];
    // Each replica folds every other event; `mine` wrote the view last before `theirs` changed it.
    for (const [i, e] of events.entries()) await (i % 2 === 0 ? mine : theirs).applyOrderEvent('ord-replicas', decodeViewEvent(e));
    await mine.applyOrderEvent('ord-replicas', decodeViewEvent(events[1]!)); // a redelivery to the other replica
    const doc = await mine.orders.findOne({ _id: 'ord-replicas' });
    expect(doc).toMatchObject(cancelledView);
    expect([...doc!.applied!].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('fold on from a view of the earlier shape, which kept its events, and rewrite it in the new shape', async () => {
    const models = readModels(store);
    const events = cancelledHistory('ord-legacy');
    const kept = events.slice(0, -1);
    // As the earlier code stored it: the events, how many were folded, and the state then.
    const legacy: OrderViewDocument = {
      _id: 'ord-legacy',
      orderId: 'ord-legacy',
      customerId: 'c1',
      customerEmail: 'a@b.c',
      status: OrderStatus.ORDER_STATUS_COMPENSATING,
      items: [],
      subtotal: eur(900),
      total: eur(900),
      paymentStatus: 'REFUNDED',
      shipmentStatus: 'FAILED',
      trackingNumber: '',
      cancellationReason: CancellationReason.CANCELLATION_REASON_UNSPECIFIED,
      cancellationDetail: '',
      stepTimes: { placed: at(0) },
      version: 8,
      placedAt: at(0),
      completedAt: undefined,
      updatedAt: at(9),
      capturedMinor: 900,
      refundedMinor: 900,
      events: kept,
      folded: kept.length,
    };
    await models.orders.insertOne(legacy);
    await models.applyOrderEvent('ord-legacy', decodeViewEvent(kept[3]!)); // a redelivery: nothing to write
    expect(await models.orders.findOne({ _id: 'ord-legacy' })).toMatchObject({ status: OrderStatus.ORDER_STATUS_COMPENSATING, folded: kept.length });
    await models.applyOrderEvent('ord-legacy', decodeViewEvent(events.at(-1)!));
    const doc = await models.orders.findOne({ _id: 'ord-legacy' });
    expect(doc).toMatchObject(cancelledView);
    expect(doc!.applied).toHaveLength(events.length);
    expect(doc).not.toHaveProperty('events');
  });
});

describe('product availability', () => {
  const levels = (revision: number, onHand: number) => ({ onHand, available: onHand - 2, reserved: 2, revision });

  it('takes one write per level once the product is shown, and never goes back to older levels', async () => {
    const counting = countingWrites(store);
    const models = readModels(counting.store);
    await models.applyCatalog('sku-w', 1, { name: 'Tea', price: eur(450) }, at(0));
    await models.applyLevels('sku-w', 2, levels(1, 10), at(1));
    counting.reset();
    await models.applyLevels('sku-w', 4, levels(3, 30), at(3));
    await models.applyLevels('sku-w', 3, levels(2, 20), at(2)); // older, arriving late: its guarded write matches nothing
    expect(counting.writes()).toBe(2);
    expect(await models.availability.findOne({ _id: 'sku-w' })).toMatchObject({ sku: 'sku-w', name: 'Tea', price: eur(450), onHand: 30, available: 28, reserved: 2, levelRevision: 3 });
  });

  it('shows levels over a document written before revisions existed', async () => {
    const models = readModels(store);
    const legacy = { _id: 'sku-old', sku: 'sku-old', name: 'Old', onHand: 5, available: 5, reserved: 0, levelSeq: 1, catalogSeq: 1, updatedAt: at(0) };
    await models.availability.insertOne(legacy as unknown as AvailabilityDocument);
    await models.applyLevels('sku-old', 7, levels(4, 9), at(4));
    expect(await models.availability.findOne({ _id: 'sku-old' })).toMatchObject({ name: 'Old', onHand: 9, available: 7, levelRevision: 4, levelSeq: 7 });
  });
});
