import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { itUnless, type FerretdbDifference } from '../testing/ferretdb.js';
import { DuplicateKeyError, type Collection, type Doc, type DocumentStore } from './types.js';

interface Item extends Doc {
  sku: string;
  qty: number;
  tags?: string[];
  meta?: { color?: string; size?: number };
  version?: number;
  created?: string;
  at?: Date;
}

interface Commit extends Doc {
  stream: string;
  slots: string[];
}

/**
 * The behaviour every DocumentStore adapter shares. `open` must return a store on the same data
 * each time it is called (same directory, same database); each test works in collections of its
 * own and closes what it opened.
 */
export function describeStoreContract(
  name: string,
  open: () => Promise<DocumentStore>,
  /** Behaviours this server is known not to have, with the reason (FerretDB on the MongoDB leg). */
  differences: Partial<Record<FerretdbDifference, string>> = {},
): void {
  describe(`DocumentStore contract: ${name}`, () => {
    // A test that relies on a behaviour the server lacks is skipped here, naming why.
    const unless = (difference: FerretdbDifference, title: string, fn: () => Promise<void>) => itUnless(differences[difference])(title, fn);
    async function withCollection<T extends Doc>(test: (items: Collection<T>, store: DocumentStore) => Promise<void>) {
      const store = await open();
      try {
        await test(store.collection<T>(`c_${randomUUID().slice(0, 8)}`), store);
      } finally {
        await store.close();
      }
    }
    const ids = (docs: Doc[]) => docs.map((d) => d._id);

    it('finds by equality, dotted paths, array elements and operators', () =>
      withCollection<Item>(async (items) => {
        await items.insertMany([
          { _id: 'a', sku: 'A', qty: 1, tags: ['red', 'big'], meta: { color: 'red', size: 3 } },
          { _id: 'b', sku: 'B', qty: 5, tags: ['blue'], meta: { color: 'blue' } },
          { _id: 'c', sku: 'C', qty: 10 },
        ]);
        const find = async (filter: Record<string, unknown>) => ids(await items.find(filter, { sort: { _id: 1 } }));
        expect(await find({ 'meta.color': 'red' })).toEqual(['a']);
        expect(await find({ tags: 'blue' })).toEqual(['b']);
        expect(await find({ tags: { $in: ['big', 'blue'] } })).toEqual(['a', 'b']);
        expect(await find({ qty: { $gte: 5 } })).toEqual(['b', 'c']);
        expect(await find({ qty: { $gt: 1, $lt: 10 } })).toEqual(['b']);
        expect(await find({ sku: { $in: ['A', 'C'] } })).toEqual(['a', 'c']);
        expect(await find({ sku: { $nin: ['A'] } })).toEqual(['b', 'c']);
        expect(await find({ sku: { $ne: 'B' } })).toEqual(['a', 'c']);
        expect(await find({ 'meta.size': { $ne: 3 } })).toEqual(['b', 'c']);
        expect(await find({ tags: { $exists: false } })).toEqual(['c']);
        expect(await find({ 'meta.size': { $exists: true } })).toEqual(['a']);
        expect(await find({ $or: [{ sku: 'A' }, { qty: 10 }] })).toEqual(['a', 'c']);
        expect(await find({ $and: [{ qty: { $gt: 0 } }, { 'meta.size': 3 }] })).toEqual(['a']);
        expect(await items.findOne({ _id: 'b' })).toEqual({ _id: 'b', sku: 'B', qty: 5, tags: ['blue'], meta: { color: 'blue' } });
        expect(await items.findOne({ _id: 'zzz' })).toBeNull();
        expect(await items.countDocuments({ qty: { $lte: 5 } })).toBe(2);
        expect(await items.countDocuments()).toBe(3);
      }));

    it('sorts on several keys, then skips and limits', () =>
      withCollection<Item>(async (items) => {
        await items.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: `i${i}`, sku: i % 2 ? 'odd' : 'even', qty: i })));
        expect(ids(await items.find({}, { sort: { sku: 1, qty: -1 }, skip: 2, limit: 3 }))).toEqual(['i4', 'i2', 'i0']);
        expect(ids(await items.find({ sku: 'odd' }, { sort: { qty: 1 }, limit: 2 }))).toEqual(['i1', 'i3']);
        expect(ids(await items.find({}, { sort: { qty: -1 }, skip: 8 }))).toEqual(['i1', 'i0']);
      }));

    it('updates with each operator and counts matched and modified documents', () =>
      withCollection<Item>(async (items) => {
        await items.insertOne({ _id: 'a', sku: 'A', qty: 1, tags: ['x'], meta: { color: 'red' } });
        const update = { $set: { 'meta.size': 4 }, $inc: { qty: 2 }, $push: { tags: 'y' } };
        expect(await items.updateOne({ _id: 'a' }, update)).toEqual({ matched: 1, modified: 1, upserted: false });
        expect(await items.updateOne({ _id: 'a' }, { $addToSet: { tags: 'x' } })).toEqual({ matched: 1, modified: 0, upserted: false });
        expect(await items.updateOne({ _id: 'a' }, { $set: { sku: 'A' } })).toEqual({ matched: 1, modified: 0, upserted: false });
        await items.updateOne({ _id: 'a' }, { $unset: { 'meta.color': '' }, $push: { tags: { $each: ['z', 'w'] } }, $max: { version: 7 } });
        await items.updateOne({ _id: 'a' }, { $addToSet: { tags: { $each: ['x', 'v'] } }, $min: { qty: 2 } });
        expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', sku: 'A', qty: 2, tags: ['x', 'y', 'z', 'w', 'v'], meta: { size: 4 }, version: 7 });
        expect(await items.updateOne({ _id: 'missing' }, { $set: { qty: 1 } })).toEqual({ matched: 0, modified: 0, upserted: false });

        await items.insertMany([{ _id: 'b', sku: 'B', qty: 1 }, { _id: 'c', sku: 'C', qty: 5 }]);
        expect(await items.updateMany({ qty: { $gte: 1 } }, { $set: { qty: 5 } })).toEqual({ matched: 3, modified: 2 });
        expect(await items.updateMany({ sku: 'nope' }, { $set: { qty: 0 } })).toEqual({ matched: 0, modified: 0 });
        await expect(items.updateOne({ _id: 'a' }, {})).rejects.toThrow(TypeError);
      }));

    it('upserts from the filter, applying $setOnInsert only when inserting', () =>
      withCollection<Item>(async (items) => {
        const upsert = (created: string) =>
          items.updateOne({ _id: 'a', 'meta.color': 'red' }, { $setOnInsert: { created, sku: 'A' }, $inc: { qty: 1 } }, { upsert: true });
        expect(await upsert('first')).toEqual({ matched: 0, modified: 0, upserted: true });
        expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', meta: { color: 'red' }, sku: 'A', created: 'first', qty: 1 });
        expect(await upsert('second')).toEqual({ matched: 1, modified: 1, upserted: false });
        expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', meta: { color: 'red' }, sku: 'A', created: 'first', qty: 2 });

        // Operator conditions are not copied into the new document.
        await items.updateOne({ _id: 'v', version: { $lt: 3 } }, { $set: { sku: 'V', qty: 0 } }, { upsert: true });
        expect(await items.findOne({ _id: 'v' })).toEqual({ _id: 'v', sku: 'V', qty: 0 });
        // A version guard that fails on an existing _id must not overwrite it: the insert clashes.
        await items.updateOne({ _id: 'v' }, { $set: { version: 5 } });
        const stale = items.updateOne({ _id: 'v', version: { $lt: 3 } }, { $set: { sku: 'old', version: 3 } }, { upsert: true });
        await expect(stale).rejects.toBeInstanceOf(DuplicateKeyError);
        expect(await items.findOne({ _id: 'v' })).toEqual({ _id: 'v', sku: 'V', qty: 0, version: 5 });

        // Without an _id in the filter the store still gives the new document a string _id.
        expect(await items.updateOne({ sku: 'N' }, { $set: { qty: 3 } }, { upsert: true })).toMatchObject({ upserted: true });
        expect(typeof (await items.findOne({ sku: 'N' }))?._id).toBe('string');
      }));

    unless('atomicUpdates', 'finds and updates atomically, returning the document before or after', () =>
      withCollection<Item>(async (items) => {
        await items.insertOne({ _id: 'a', sku: 'A', qty: 5, version: 1 });
        expect(await items.findOneAndUpdate({ _id: 'a', version: 1 }, { $inc: { version: 1 } })).toEqual({ _id: 'a', sku: 'A', qty: 5, version: 2 });
        expect(await items.findOneAndUpdate({ _id: 'a' }, { $inc: { qty: -1 } }, { returnDocument: 'before' })).toMatchObject({ qty: 5 });
        expect(await items.findOneAndUpdate({ _id: 'a', version: 1 }, { $set: { qty: 0 } })).toBeNull();
        expect(await items.findOneAndUpdate({ _id: 'a', version: 1 }, { $set: { qty: 0 } }, { returnDocument: 'before' })).toBeNull();
        expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', sku: 'A', qty: 4, version: 2 });
        const created = await items.findOneAndUpdate({ _id: 'n' }, { $set: { sku: 'N' }, $setOnInsert: { qty: 0 } }, { upsert: true });
        expect(created).toEqual({ _id: 'n', sku: 'N', qty: 0 });
        expect(await items.findOneAndUpdate({ _id: 'm' }, { $set: { sku: 'M', qty: 1 } }, { upsert: true, returnDocument: 'before' })).toBeNull();
        expect(await items.countDocuments()).toBe(3);

        // Each 'before' is a distinct state: no two callers saw the same document.
        const befores = await Promise.all(
          Array.from({ length: 50 }, () => items.findOneAndUpdate({ _id: 'a' }, { $inc: { qty: 1 } }, { returnDocument: 'before' })),
        );
        expect(befores.map((d) => d?.qty).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 50 }, (_, i) => i + 4));
      }));

    unless('atomicUpdates', 'lets exactly one of 50 concurrent conditional updates at one version win', () =>
      withCollection<Item>(async (items) => {
        await items.insertOne({ _id: 'a', sku: 'A', qty: 0, version: 1 });
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => items.updateOne({ _id: 'a', version: 1 }, { $inc: { version: 1 }, $set: { qty: i } })),
        );
        expect(results.filter((r) => r.matched === 1)).toHaveLength(1);
        expect(results.filter((r) => r.matched === 0)).toHaveLength(49);
        expect(await items.findOne({ _id: 'a' })).toMatchObject({ version: 2 });
      }));

    it('rejects a duplicate _id with DuplicateKeyError; an ordered insertMany keeps what came before', () =>
      withCollection<Item>(async (items) => {
        await items.insertOne({ _id: 'a', sku: 'A', qty: 1 });
        const error = await items.insertOne({ _id: 'a', sku: 'Z', qty: 2 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateKeyError);
        expect(error).toMatchObject({ collection: items.name, name: 'DuplicateKeyError' });
        expect((error as DuplicateKeyError).cause).toBeDefined();
        const batch = items.insertMany([{ _id: 'b', sku: 'B', qty: 1 }, { _id: 'a', sku: 'A2', qty: 1 }, { _id: 'c', sku: 'C', qty: 1 }]);
        await expect(batch).rejects.toBeInstanceOf(DuplicateKeyError);
        expect(ids(await items.find({}, { sort: { _id: 1 } }))).toEqual(['a', 'b']);
        expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', sku: 'A', qty: 1 });
      }));

    unless('uniqueIndexOnUpdate', 'enforces a unique index on a scalar field on insert, update and upsert', () =>
      withCollection<Item>(async (items) => {
        await items.createIndex({ sku: 1 }, { unique: true, name: 'sku_unique' });
        await items.createIndex({ sku: 1 }, { unique: true, name: 'sku_unique' });
        await items.insertMany([{ _id: 'a', sku: 'A', qty: 1 }, { _id: 'b', sku: 'B', qty: 1 }]);
        await expect(items.insertOne({ _id: 'c', sku: 'A', qty: 2 })).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(items.updateOne({ _id: 'b' }, { $set: { sku: 'A' } })).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(items.updateOne({ _id: 'c' }, { $set: { sku: 'A', qty: 0 } }, { upsert: true })).rejects.toBeInstanceOf(DuplicateKeyError);
        expect(await items.find({}, { sort: { _id: 1 } })).toEqual([{ _id: 'a', sku: 'A', qty: 1 }, { _id: 'b', sku: 'B', qty: 1 }]);
      }));

    unless('uniqueArrayElements', 'enforces a unique index on an array field element by element, writing nothing on a clash', () =>
      withCollection<Commit>(async (commits) => {
        await commits.createIndex({ slots: 1 }, { unique: true });
        await commits.insertOne({ _id: 'c1', stream: 'o-1', slots: ['o-1:1', 'o-1:2'] });
        const clash = commits.insertOne({ _id: 'c2', stream: 'o-1', slots: ['o-1:3', 'o-1:2'] });
        await expect(clash).rejects.toBeInstanceOf(DuplicateKeyError);
        expect(await commits.countDocuments()).toBe(1);
        // The failed insert left none of its other elements behind.
        await commits.insertOne({ _id: 'c3', stream: 'o-1', slots: ['o-1:3', 'o-1:4'] });
        await expect(commits.updateOne({ _id: 'c3' }, { $push: { slots: 'o-1:1' } })).rejects.toBeInstanceOf(DuplicateKeyError);
        expect(await commits.findOne({ _id: 'c3' })).toEqual({ _id: 'c3', stream: 'o-1', slots: ['o-1:3', 'o-1:4'] });
        expect(ids(await commits.find({ slots: 'o-1:2' }))).toEqual(['c1']);
      }));

    it('replaces, deletes and drops documents and indexes', () =>
      withCollection<Item>(async (items) => {
        await items.insertMany([{ _id: 'a', sku: 'A', qty: 1 }, { _id: 'b', sku: 'B', qty: 2 }, { _id: 'c', sku: 'C', qty: 3 }]);
        expect(await items.replaceOne({ _id: 'a' }, { _id: 'a', sku: 'A2', qty: 9 })).toEqual({ matched: 1, modified: 1, upserted: false });
        expect(await items.replaceOne({ _id: 'a' }, { _id: 'a', sku: 'A2', qty: 9 })).toEqual({ matched: 1, modified: 0, upserted: false });
        expect(await items.replaceOne({ _id: 'x' }, { _id: 'x', sku: 'X', qty: 0 }, { upsert: true })).toEqual({ matched: 0, modified: 0, upserted: true });
        expect(await items.replaceOne({ _id: 'y' }, { _id: 'y', sku: 'Y', qty: 0 })).toEqual({ matched: 0, modified: 0, upserted: false });
        expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', sku: 'A2', qty: 9 });
        expect(await items.deleteOne({ qty: { $gte: 2, $lt: 3 } })).toBe(1);
        expect(await items.deleteOne({ _id: 'nope' })).toBe(0);
        expect(await items.countDocuments()).toBe(3);
        expect(await items.deleteMany({ qty: { $lt: 5 } })).toBe(2);
        expect(await items.countDocuments()).toBe(1);

        await items.createIndex({ sku: 1 }, { unique: true });
        await items.drop();
        await items.drop();
        expect(await items.countDocuments()).toBe(0);
        await items.insertMany([{ _id: 'e', sku: 'same', qty: 1 }, { _id: 'f', sku: 'same', qty: 1 }]);
        expect(await items.countDocuments({ sku: 'same' })).toBe(2);
      }));

    it('lists the collections that exist', async () => {
      const store = await open();
      try {
        const name = `c_${randomUUID().slice(0, 8)}`;
        expect(await store.collectionNames()).not.toContain(name);
        await store.collection(name).insertOne({ _id: 'x' });
        expect(await store.collectionNames()).toContain(name);
        await store.collection(name).drop();
        expect(await store.collectionNames()).not.toContain(name);
      } finally {
        await store.close();
      }
    });

    it('round-trips Dates, also inside arrays and nested objects, and compares them', () =>
      withCollection<Doc>(async (docs) => {
        const at = new Date('2026-11-23T10:00:00.123Z');
        await docs.insertOne({ _id: 'a', at, history: [{ at }], nested: { at } });
        await docs.updateOne({ _id: 'a' }, { $set: { later: new Date(at.getTime() + 1000) } });
        const doc = await docs.findOne({ at: { $gt: new Date('2026-11-23T09:59:59Z'), $lte: at } });
        expect(doc).toEqual({ _id: 'a', at, history: [{ at }], nested: { at }, later: new Date('2026-11-23T10:00:01.123Z') });
        expect(doc?.at).toBeInstanceOf(Date);
      }));

    it('keeps documents and unique indexes across close and reopen', async () => {
      const name = `persist_${randomUUID().slice(0, 8)}`;
      const first = await open();
      const at = new Date('2026-01-02T03:04:05.678Z');
      await first.collection<Commit>(name).createIndex({ slots: 1 }, { unique: true });
      await first.collection<Commit>(name).insertOne({ _id: 'c1', stream: 's', slots: ['s:1'], at });
      await first.collection<Commit>(name).updateOne({ _id: 'c1' }, { $set: { published: true } });
      await first.close();
      const second = await open();
      try {
        const commits = second.collection<Commit>(name);
        expect(await commits.findOne({ _id: 'c1' })).toEqual({ _id: 'c1', stream: 's', slots: ['s:1'], at, published: true });
        await expect(commits.insertOne({ _id: 'c2', stream: 's', slots: ['s:1'] })).rejects.toBeInstanceOf(DuplicateKeyError);
      } finally {
        await second.close();
      }
    });
  });
}
