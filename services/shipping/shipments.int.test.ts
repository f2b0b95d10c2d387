// Racing executions of one order's commands in one store, as two replicas (or a replica's
// concurrent handlers) produce them: the append at the version read lets one win, and the
// losers decide again on its result. Store-level, so no broker is needed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEventStore,
  createLogger,
  IllegalStateError,
  silentLogger,
  type DocumentStore,
  type EventStore,
} from '../platform/index.js';
import { shipmentStream } from './shipment.js';
import { createShipments, type Shipments } from './shipments.js';
import { berlin, testNow } from './test-harness.js';
import { testStorage, type TestStorage } from '../platform/testing/index.js';

let dataDir: string;
let store: DocumentStore;
let storage: TestStorage;
let events: EventStore;
let shipments: Shipments;
const logLines: { msg: string; orderId: string }[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-shipments-'));
  storage = testStorage(dataDir);
  store = await storage.open('shipping');
  events = createEventStore({ store, logger: silentLogger() }); // no publisher: nothing leaves
  await events.start();
  const logger = createLogger({ service: 'shipping', level: 'debug', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });
  shipments = createShipments({ events, store, logger, policy: { countries: ['DE'], carrier: 'Orderflow Express', transitDays: 3 } });
});

afterAll(async () => {
  await events?.close();
  await store?.close();
  await storage?.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

const races = (orderId: string) => logLines.filter((l) => l.orderId === orderId && l.msg === 'lost an append race; deciding again').length;

describe('racing executions', () => {
  it('append one answer for ten simultaneous copies of ScheduleShipment', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        shipments.execute({ type: 'ScheduleShipment', orderId: 'ord_x1', customerId: 'cus_1', address: berlin, items: [], now: testNow }),
      ),
    );
    expect(results.map((r) => r.appended.length).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    for (const r of results) expect(r).toMatchObject({ version: 1, state: { status: 'scheduled' } });
    expect(races('ord_x1')).toBeGreaterThan(0);
    expect((await events.readStream(shipmentStream('ord_x1'))).map((e) => e.type)).toEqual(['orderflow.shipping.v1.ShipmentScheduled']);
  });

  it('let one of two different tracking numbers win and refuse the other', async () => {
    await shipments.execute({ type: 'ScheduleShipment', orderId: 'ord_x2', customerId: 'cus_1', address: berlin, items: [], now: testNow });
    const dispatch = (trackingNumber: string) =>
      shipments.execute({ type: 'DispatchShipment', orderId: 'ord_x2', trackingNumber, generatedTrackingNumber: 'OFXGEN', now: testNow });
    const [a, b] = await Promise.allSettled([dispatch('TRK-A'), dispatch('TRK-B')]);
    const won = [a, b].filter((r) => r.status === 'fulfilled');
    const lost = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(IllegalStateError);
    expect(await events.readStream(shipmentStream('ord_x2'))).toHaveLength(2);
  });
});
