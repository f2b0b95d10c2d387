import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../errors.js';
import { registry } from '../metrics.js';
import { DuplicateKeyError, openDocumentStore, openEmbeddedStore, openMongoStore } from './index.js';
import { serverDifferences } from '../testing/ferretdb.js';
import { describeStoreContract } from './store-contract.js';

describe('embedded engine', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orderflow-storage-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describeStoreContract('embedded engine', () => openEmbeddedStore(join(root, 'contract')));

  it('is what openDocumentStore opens without a MongoDB URI, one SQLite file per directory', async () => {
    const dir = join(root, 'default', 'nested');
    const store = await openDocumentStore({ mongodbUri: undefined, dataDir: dir });
    expect(store.kind).toBe('embedded');
    await store.collection('orders').insertOne({ _id: 'o-1' });
    await store.collection('payments').insertOne({ _id: 'p-1' });
    await store.close();
    expect(readdirSync(dir)).toEqual(['store.sqlite']); // WAL and shared-memory files go with the last connection
  });

  it('shares one engine per directory in a process and closes it with the last handle', async () => {
    const dir = join(root, 'shared');
    const [a, b] = await Promise.all([openEmbeddedStore(dir), openEmbeddedStore(dir)]);
    const fromA = a.collection('things');
    await fromA.insertOne({ _id: 'x' });
    expect(await b.collection('things').findOne({ _id: 'x' })).toEqual({ _id: 'x' });
    await a.close();
    expect(() => a.collection('things')).toThrow(/closed/);
    await fromA.insertOne({ _id: 'y' }); // the engine lives on while b holds it
    await b.close();
    await expect(fromA.findOne({ _id: 'x' })).rejects.toThrow(/closed/);

    const c = await openEmbeddedStore(dir);
    expect(await c.collection('things').countDocuments()).toBe(2);
    await c.close();
  });

  it('persists writes made after a drop, without the dropped indexes', async () => {
    const dir = join(root, 'dropped');
    const first = await openEmbeddedStore(dir);
    const things = first.collection<{ _id: string; key: string }>('things');
    await things.createIndex({ key: 1 }, { unique: true });
    await things.insertOne({ _id: 'a', key: 'k' });
    await things.drop();
    await things.insertMany([{ _id: 'b', key: 'k' }, { _id: 'c', key: 'k' }]);
    await first.close();
    const second = await openEmbeddedStore(dir);
    const reopened = second.collection<{ _id: string; key: string }>('things');
    expect((await reopened.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['b', 'c']);
    await reopened.insertOne({ _id: 'd', key: 'k' });
    await expect(reopened.insertOne({ _id: 'd', key: 'other' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await second.close();
  });

  it('answers a write blocked past busy_timeout by another connection\'s lock as UnavailableError, writing nothing', async () => {
    const dir = join(root, 'locked');
    const store = await openEmbeddedStore(dir, { busyTimeoutMs: 50 });
    const things = store.collection('things');
    await things.insertOne({ _id: 'a' });
    const other = new Database(join(dir, 'store.sqlite'));
    other.exec('BEGIN IMMEDIATE'); // as another process's writer would
    try {
      await expect(things.insertOne({ _id: 'b' })).rejects.toBeInstanceOf(UnavailableError);
      expect(await things.findOne({ _id: 'a' })).toEqual({ _id: 'a' }); // readers are not blocked
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await things.insertOne({ _id: 'b' });
    expect(await things.countDocuments()).toBe(2);
    await store.close();
  });

  it('commits writes issued together in one transaction, in the order issued; one that fails is undone and rejected alone', async () => {
    const store = await openEmbeddedStore(join(root, 'group'));
    const things = store.collection<{ _id: string; n?: number }>('things');
    await things.insertOne({ _id: 'taken' });
    const total = async (name: string) => ((await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0);
    const [writesBefore, commitsBefore] = [await total('orderflow_storage_writes_total'), await total('orderflow_storage_commits_total')];

    const inserts = Array.from({ length: 20 }, (_, i) => things.insertOne({ _id: `t${i}` }));
    const clash = things.insertOne({ _id: 'taken' });
    const update = things.updateOne({ _id: 't0' }, { $set: { n: 1 } }); // sees the insert issued before it
    const settled = await Promise.allSettled([...inserts, clash, update]);

    expect(settled.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)).toEqual([expect.any(DuplicateKeyError)]);
    expect(await update).toEqual({ matched: 1, modified: 1, upserted: false });
    expect(await things.countDocuments()).toBe(21);
    expect(await things.findOne({ _id: 't0' })).toEqual({ _id: 't0', n: 1 });
    expect(await total('orderflow_storage_writes_total')).toBe(writesBefore + 22);
    expect(await total('orderflow_storage_commits_total')).toBe(commitsBefore + 1);
    await store.close();
  });

  it('writes what was issued before a close', async () => {
    const dir = join(root, 'closing');
    const store = await openEmbeddedStore(dir);
    const written = store.collection('things').insertOne({ _id: 'last' });
    await store.close();
    await written;
    const reopened = await openEmbeddedStore(dir);
    expect(await reopened.collection('things').findOne({ _id: 'last' })).toEqual({ _id: 'last' });
    await reopened.close();
  });

  it('rejects collection names outside the shared naming rule and SQLite\'s reserved ones', async () => {
    const store = await openEmbeddedStore(join(root, 'names'));
    expect(() => store.collection('../escape')).toThrow(TypeError);
    expect(() => store.collection('')).toThrow(TypeError);
    expect(() => store.collection('sqlite_master')).toThrow(TypeError);
    await store.close();
  });
});

describe.runIf(Boolean(process.env.MONGODB_URI))('MongoDB', async () => {
  const uri = process.env.MONGODB_URI ?? '';
  const dbName = `orderflow_test_${process.pid}_${Date.now().toString(36)}`;
  afterAll(async () => {
    const client = new MongoClient(uri);
    try {
      await client.db(dbName).dropDatabase();
    } finally {
      await client.close();
    }
  });

  describeStoreContract('MongoDB', () => openMongoStore(uri, { dbName }), await serverDifferences(uri));

  it('shares one client per URI until the last store closes', async () => {
    const [a, b] = await Promise.all([openMongoStore(uri, { dbName }), openMongoStore(uri, { dbName })]);
    expect(a.kind).toBe('mongodb');
    await a.collection('shared').insertOne({ _id: 'x' });
    await a.close();
    await a.close();
    expect(await b.collection('shared').findOne({ _id: 'x' })).toEqual({ _id: 'x' });
    await b.close();
  });
});
