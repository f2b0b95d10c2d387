import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { assertUpdate, isPlainObject } from './checks.js';
import {
  DuplicateKeyError,
  type Collection,
  type Doc,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexOptions,
  type Sort,
  type Update,
  type UpdateManyResult,
  type UpdateResult,
  type UpsertOptions,
} from './types.js';

/** One nedb datastore (the package is CommonJS; its typings only line up through `import()` types). */
export type Datastore = import('@seald-io/nedb').default<Doc>;

// nedb's own upsert cannot apply $setOnInsert and copies operator filters into the new document
// (`{ version: { $lt: 3 } }` becomes `version: {}`), so upserts build their document here and
// apply the operators with nedb's own `modify`, keeping one set of operator semantics.
const model = createRequire(import.meta.url)('@seald-io/nedb/lib/model.js') as {
  modify(doc: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown>;
};

/** What a collection needs from the engine that owns its datastore. */
export interface EngineSlot {
  /** The datastore once its file is loaded; rejects if loading failed. */
  readonly ready: Promise<Datastore>;
  /** Throws once the engine is closed. */
  assertOpen(): void;
  /** Called after `drop` reloaded the emptied datastore (nedb stops periodic compaction on drop). */
  reloaded(datastore: Datastore): void;
}

/** What an update did: the matched documents before and after, or the document an upsert inserted. */
interface Outcome<T> {
  before: T[];
  after: T[];
  inserted: T | null;
}

/**
 * A collection over one nedb datastore. nedb runs a datastore's operations one at a time in the
 * order they were queued, so a filter plus its update is atomic. To report `modified` counts and
 * 'before' documents without losing that, an update is queued in the same tick as a read of the
 * same filter: nothing can run between the two, and both walk the documents in the same order,
 * so the read sees exactly the documents the update then changes.
 */
export class EmbeddedCollection<T extends Doc> implements Collection<T> {
  constructor(
    readonly name: string,
    private readonly engine: EngineSlot,
  ) {}

  async createIndex(keys: Sort, options: IndexOptions = {}): Promise<void> {
    const fields = Object.keys(keys);
    if (fields.length === 0) throw new TypeError(`createIndex on ${this.name} needs at least one field`);
    // nedb names an index by its fields and ignores directions; ensureIndex on a known field is a no-op.
    const fieldName = fields.length === 1 ? fields[0]! : fields;
    return this.run(async (ds) => {
      await ds.ensureIndexAsync({ fieldName, unique: options.unique ?? false });
      // MongoDB answers a query on a compound index's first field from that index; nedb uses a
      // compound index only when every field is matched, so the first field gets its own index.
      if (fields.length > 1) await ds.ensureIndexAsync({ fieldName: fields[0]!, unique: false });
    });
  }

  insertOne(doc: T): Promise<void> {
    return this.run(async (ds) => {
      await ds.insertAsync(doc);
    });
  }

  async insertMany(docs: T[]): Promise<void> {
    if (docs.length === 0) return;
    return this.run(async (ds) => {
      try {
        await ds.insertAsync(docs); // one task, all or nothing
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // MongoDB's ordered insert keeps the documents before the clash; replay one by one to match.
        for (const doc of docs) await ds.insertAsync(doc);
      }
    });
  }

  findOne(filter: Filter): Promise<T | null> {
    return this.run(async (ds) => (await ds.findOneAsync(filter).execAsync()) as unknown as T | null);
  }

  find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.run(async (ds) => {
      let cursor = ds.findAsync(filter);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      return (await cursor.execAsync()) as unknown as T[];
    });
  }

  countDocuments(filter: Filter = {}): Promise<number> {
    return this.run(async (ds) => (await ds.countAsync(filter).execAsync()) as unknown as number);
  }

  async updateOne(filter: Filter, update: Update, options: UpsertOptions = {}): Promise<UpdateResult> {
    const { before, after, inserted } = await this.modifyDocs(filter, update, false, options.upsert ?? false);
    if (inserted) return { matched: 0, modified: 0, upserted: true };
    return { matched: before.length, modified: countChanged(before, after), upserted: false };
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateManyResult> {
    const { before, after } = await this.modifyDocs(filter, update, true, false);
    return { matched: before.length, modified: countChanged(before, after) };
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    const { before, after, inserted } = await this.modifyDocs(filter, update, false, options.upsert ?? false);
    if (options.returnDocument === 'before') return before[0] ?? null;
    return inserted ?? after[0] ?? null;
  }

  replaceOne(filter: Filter, doc: T, options: UpsertOptions = {}): Promise<UpdateResult> {
    // A replacement has no operators, so nedb's own upsert (insert the replacement) is MongoDB's.
    return this.run(async (ds) => {
      const found = ds.findAsync(filter).limit(1).execAsync() as unknown as Promise<T[]>;
      const replaced = ds.updateAsync(filter, doc, { multi: false, upsert: options.upsert ?? false, returnUpdatedDocs: true });
      const [before, result] = await Promise.all([found, replaced]);
      if (result.upsert) return { matched: 0, modified: 0, upserted: true };
      const after = result.affectedDocuments ? [result.affectedDocuments as T] : [];
      return { matched: result.numAffected, modified: countChanged(before, after), upserted: false };
    });
  }

  deleteOne(filter: Filter): Promise<number> {
    return this.run((ds) => ds.removeAsync(filter, { multi: false }));
  }

  deleteMany(filter: Filter): Promise<number> {
    return this.run((ds) => ds.removeAsync(filter, { multi: true }));
  }

  drop(): Promise<void> {
    return this.run(async (ds) => {
      // Public API for "forget documents and indexes and truncate the file"; operations issued
      // meanwhile are buffered by nedb and run once the empty datastore is loaded again.
      await ds.dropDatabaseAsync();
      await ds.loadDatabaseAsync();
      this.engine.reloaded(ds);
    });
  }

  /**
   * Applies `update` to the first (or every) match, or inserts when nothing matches and `upsert`
   * is set. The insert is a second step: if another writer inserts a match in between, the insert
   * clashes on `_id`, and the update is tried once more, as MongoDB retries such an upsert; a
   * clash that persists (the `_id` exists but fails the rest of the filter) is a DuplicateKeyError.
   */
  private modifyDocs(filter: Filter, update: Update, multi: boolean, upsert: boolean): Promise<Outcome<T>> {
    assertUpdate(update);
    const { $setOnInsert, ...changes } = update;
    const hasChanges = Object.keys(changes).length > 0;
    return this.run(async (ds) => {
      for (let attempt = 1; ; attempt += 1) {
        const cursor = multi ? ds.findAsync(filter) : ds.findAsync(filter).limit(1);
        const found = cursor.execAsync() as unknown as Promise<T[]>;
        const updated = hasChanges
          ? ds.updateAsync(filter, changes, { multi, upsert: false, returnUpdatedDocs: true })
          : Promise.resolve(undefined);
        const [before, result] = await Promise.all([found, updated]);
        const after = result ? toList<T>(result.affectedDocuments) : before;
        if (before.length !== after.length || before.some((doc, i) => doc._id !== after[i]?._id)) {
          throw new Error(`embedded store: read and update of ${this.name} saw different documents`);
        }
        if (before.length > 0 || !upsert) return { before, after, inserted: null };
        try {
          const inserted = (await ds.insertAsync(upsertDocument(filter, changes, $setOnInsert))) as T;
          return { before: [], after: [], inserted };
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= 2) throw error;
        }
      }
    });
  }

  private async run<R>(operation: (ds: Datastore) => Promise<R>): Promise<R> {
    this.engine.assertOpen();
    const ds = await this.engine.ready;
    try {
      return await operation(ds);
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateKeyError(this.name, error.key, { cause: error });
      throw error;
    }
  }
}

function isUniqueViolation(error: unknown): error is Error & { key?: unknown } {
  return error instanceof Error && (error as { errorType?: unknown }).errorType === 'uniqueViolated';
}

function toList<T>(docs: unknown): T[] {
  if (docs === null || docs === undefined) return [];
  return (Array.isArray(docs) ? docs : [docs]) as T[];
}

/** How many documents changed content; `before` and `after` are aligned by position (same `_id`). */
function countChanged<T>(before: T[], after: T[]): number {
  return before.filter((doc, i) => !isDeepStrictEqual(doc, after[i])).length;
}

/**
 * The document an upsert inserts, as MongoDB builds it: the filter's equalities (top level and
 * inside `$and`, dotted paths expanded), then the update's operators, then `$setOnInsert`.
 */
function upsertDocument(filter: Filter, changes: Omit<Update, '$setOnInsert'>, onInsert: Update['$setOnInsert']): Doc {
  let doc: Record<string, unknown> = {};
  copyEqualities(filter, doc);
  const { _id: idOnInsert, ...restOnInsert } = onInsert ?? {};
  const { _id: idSet, ...restSet } = changes.$set ?? {};
  // nedb's modify refuses to change `_id`, so an `_id` given by the update seeds the document.
  if (doc._id === undefined && (idOnInsert ?? idSet) !== undefined) doc._id = idOnInsert ?? idSet;
  const operators: Record<string, unknown> = changes.$set ? { ...changes, $set: restSet } : { ...changes };
  if (Object.keys(operators).length > 0) doc = model.modify(doc, operators);
  if (Object.keys(restOnInsert).length > 0) doc = model.modify(doc, { $set: restOnInsert });
  return doc as Doc;
}

function copyEqualities(filter: Filter, into: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) copyEqualities(part, into);
      continue;
    }
    if (key.startsWith('$')) continue;
    if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      if ('$eq' in value) setPath(into, key, value.$eq);
      continue;
    }
    setPath(into, key, value);
  }
}

function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop()!;
  let node = doc;
  for (const part of parts) {
    const next = node[part];
    node = isPlainObject(next) ? next : (node[part] = {});
  }
  node[last] = value;
}
