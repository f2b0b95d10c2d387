// The MongoDB adapter as production uses it: one database per service, majority-journaled writes,
// an unreachable server reported as UnavailableError. Tests that need a server run on the MongoDB
// leg (MONGODB_URI); the others need none.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../errors.js';
import { freePort } from '../testing/nats-server.js';
import { testMongodbUri, testStorage } from '../testing/storage.js';
import { mongoClientOptions, openMongoStore } from './mongodb.js';
import { openServiceStore, serviceDatabaseName } from './index.js';

describe('MongoDB client settings', () => {
  it('acknowledges writes by a majority, journaled, unless the URI chooses', () => {
    expect(mongoClientOptions('mongodb://db:27017/shop').writeConcern).toEqual({ w: 'majority', journal: true });
    expect(mongoClientOptions('mongodb://db:27017/shop?replicaSet=rs0&w=1').writeConcern).toBeUndefined();
  });

  it('names each service its own database after the URI, default orderflow', () => {
    expect(serviceDatabaseName('mongodb://u:p@a:1,b:2/shop?replicaSet=rs0', 'orders')).toBe('shop_orders');
    expect(serviceDatabaseName('mongodb://a:1/?replicaSet=rs0', 'query')).toBe('orderflow_query');
  });

  it('reports a server that does not answer as UnavailableError, not a plain error', async () => {
    const port = await freePort();
    const opening = openMongoStore(`mongodb://127.0.0.1:${port}/nobody?serverSelectionTimeoutMS=300`);
    await expect(opening).rejects.toBeInstanceOf(UnavailableError);
    await expect(opening).rejects.toThrow(/storage unavailable/);
  });
});

describe.runIf(Boolean(testMongodbUri))('one database per service on one MongoDB server', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('keeps two services that use the same collection names apart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'orderflow-mongo-'));
    dirs.push(dir);
    const storage = testStorage(dir);
    const orders = await openServiceStore({ service: 'orders', mongodbUri: storage.mongodbUri, dataDir: dir });
    const query = await openServiceStore({ service: 'query', mongodbUri: storage.mongodbUri, dataDir: dir });
    try {
      await orders.collection('order_views').insertOne({ _id: 'o-1', owner: 'orders' });
      await query.collection('order_views').insertOne({ _id: 'o-1', owner: 'query' });
      expect(await storage.databases()).toEqual(['orders', 'query'].map((s) => serviceDatabaseName(storage.mongodbUri!, s)));
      await query.collection('order_views').drop();
      expect(await orders.collection('order_views').findOne({ _id: 'o-1' })).toEqual({ _id: 'o-1', owner: 'orders' });
      expect(await query.collection('order_views').countDocuments()).toBe(0);
    } finally {
      await orders.close();
      await query.close();
      await storage.dispose();
    }
  });
});
