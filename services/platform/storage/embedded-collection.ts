import Database from 'better-sqlite3';
import { UnavailableError } from '../errors.js';
import { assertUpdate } from './checks.js';
import { matches, sortDocuments, valuesAt } from './document-filter.js';
import { decodeJson, encodeJson } from './document-json.js';
import { applyUpdate, updateInPlace, upsertDocument } from './document-update.js';
import { META, type CollectionCatalog, type SqliteDatabase, type UniqueIndex } from './sqlite-database.js';
import { arrayPathsOf, indexExpression, quoteIdentifier, selectSql } from './sqlite-query.js';
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

/** What a collection needs from the store that made it. */
export interface DatabaseSlot {
  /** The shared connection; throws once the store's last handle closed it. */
  database(): SqliteDatabase;
}

/** A stored document with the JSON text it was read from (to tell whether an update changed it). */
interface Row<T> {
  text: string;
  doc: T;
}

/** What an update did: the matched documents before (when kept) and after, or the document an upsert inserted. */
interface Outcome<T> {
  matched: number;
  before: T[];
  after: T[];
  modified: number;
  inserted: T | null;
}

/**
 * A collection as one table `(id TEXT PRIMARY KEY, doc TEXT)`, the document as JSON. Reads run
 * in one read transaction, writes in one BEGIN IMMEDIATE transaction that finds, checks and writes,
 * so a filter + update is atomic across every process sharing the file. Candidates come from SQL
 * (sqlite-query.ts, on SQL indexes) and are decided by `matches` in JavaScript.
 */
export class EmbeddedCollection<T extends Doc> implements Collection<T> {
  readonly #table: string;
  // The hot statements' text, built once: the connection's statement cache is keyed by it.
  readonly #sql: { byId: string; insert: string; update: string; delete: string };

  constructor(
    readonly name: string,
    private readonly slot: DatabaseSlot,
  ) {
    this.#table = quoteIdentifier(name);
    this.#sql = {
      byId: `SELECT doc FROM ${this.#table} WHERE id = ?`,
      insert: `INSERT INTO ${this.#table} (id, doc) VALUES (?, ?)`,
      update: `UPDATE ${this.#table} SET doc = ? WHERE id = ?`,
      delete: `DELETE FROM ${this.#table} WHERE id = ?`,
    };
  }

  async createIndex(keys: Sort, options: IndexOptions = {}): Promise<void> {
    const fields = Object.entries(keys);
    if (fields.length === 0) throw new TypeError(`createIndex on ${this.name} needs at least one field`);
    if (fields.some(([, direction]) => direction !== 1 && direction !== -1)) throw new TypeError(`createIndex on ${this.name}: directions are 1 or -1`);
    const unique = options.unique ?? false;
    const name = `${this.name}:${fields.map(([path, direction]) => `${path}_${direction}`).join('_')}`;
    await this.write((db) => {
      const existing = db.statement(`SELECT is_unique FROM ${META.indexes} WHERE coll = ? AND name = ?`).get(this.name, name);
      if (existing !== undefined) {
        if (Boolean(existing) !== unique) throw new Error(`index ${JSON.stringify(keys)} on ${this.name} exists with unique: ${Boolean(existing)}`);
        return;
      }
      const expression = indexExpression(keys);
      if (expression !== undefined) db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(name)} ON ${this.#table} (${expression})`);
      db.statement(`INSERT INTO ${META.indexes} (coll, name, keys, is_unique) VALUES (?, ?, ?, ?)`).run(this.name, name, JSON.stringify(fields), unique ? 1 : 0);
      db.catalogChanged();
      if (unique) {
        // Existing documents get their keys now; a clash among them fails the whole index, as in MongoDB.
        const index = { name, keys: fields };
        for (const text of db.statement(`SELECT doc FROM ${this.#table}`).all() as string[]) this.writeKeys(db, decodeJson<T>(text), [index]);
      }
    });
  }

  async insertOne(doc: T): Promise<void> {
    await this.write((db) => this.insertDoc(db, doc, db.catalog(this.name)));
  }

  async insertMany(docs: T[]): Promise<void> {
    if (docs.length === 0) return;
    // Ordered, as in MongoDB: what precedes a clash is written (committed), the rest is not.
    const clash = await this.write((db) => {
      const catalog = db.catalog(this.name);
      for (const doc of docs) {
        try {
          db.write(() => this.insertDoc(db, doc, catalog)); // a savepoint: a clash undoes only this document
        } catch (error) {
          if (error instanceof DuplicateKeyError) return error;
          throw error;
        }
      }
      return undefined;
    });
    if (clash) throw clash;
  }

  async findOne(filter: Filter): Promise<T | null> {
    return (await this.find(filter, { limit: 1 }))[0] ?? null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.run((db) => {
      // One statement reads one snapshot without a transaction around it, and `_id` needs no catalog.
      const id = filter._id;
      if (typeof id === 'string') return this.byId(db, id, filter, options.skip).map((row) => row.doc);
      return db.read(() => this.select(db, db.catalog(this.name), filter, options).map((row) => row.doc));
    });
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    return this.run((db) =>
      db.read(() => {
        if (Object.keys(filter).length === 0) return db.statement(`SELECT count(*) FROM ${this.#table}`).get() as number;
        return this.select(db, db.catalog(this.name), filter, {}).length;
      }),
    );
  }

  async updateOne(filter: Filter, update: Update, options: UpsertOptions = {}): Promise<UpdateResult> {
    const { matched, modified, inserted } = await this.modify(filter, update, false, options.upsert ?? false);
    if (inserted) return { matched: 0, modified: 0, upserted: true };
    return { matched, modified, upserted: false };
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateManyResult> {
    const { matched, modified } = await this.modify(filter, update, true, false);
    return { matched, modified };
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    const keepBefore = options.returnDocument === 'before';
    const { before, after, inserted } = await this.modify(filter, update, false, options.upsert ?? false, keepBefore);
    if (keepBefore) return before[0] ?? null;
    return inserted ?? after[0] ?? null;
  }

  async replaceOne(filter: Filter, doc: T, options: UpsertOptions = {}): Promise<UpdateResult> {
    return this.write((db) => {
      const catalog = db.catalog(this.name);
      const [found] = this.select(db, catalog, filter, { limit: 1 });
      if (found === undefined) {
        if (!options.upsert) return { matched: 0, modified: 0, upserted: false };
        const _id = doc._id ?? upsertDocument(filter, { $setOnInsert: {} })._id;
        this.insertDoc(db, { ...doc, _id }, catalog);
        return { matched: 0, modified: 0, upserted: true };
      }
      if (doc._id !== undefined && doc._id !== found.doc._id) {
        throw new TypeError(`replaceOne on ${this.name} may not change _id ${JSON.stringify(found.doc._id)}`);
      }
      const changed = this.replaceDoc(db, found, { ...doc, _id: found.doc._id }, catalog);
      return { matched: 1, modified: changed ? 1 : 0, upserted: false };
    });
  }

  async deleteOne(filter: Filter): Promise<number> {
    return this.remove(filter, 1);
  }

  async deleteMany(filter: Filter): Promise<number> {
    return this.remove(filter, 0);
  }

  async drop(): Promise<void> {
    await this.write((db) => {
      db.exec(`DROP TABLE IF EXISTS ${this.#table}`); // its SQL indexes go with it
      for (const meta of [META.indexes, META.arrays, META.keys]) db.statement(`DELETE FROM ${meta} WHERE coll = ?`).run(this.name);
      db.catalogChanged();
      db.forgetTable(this.name);
    });
  }

  /**
   * Applies `update` to the first (or every) match, or inserts when nothing matches and `upsert`
   * is set, all under the write lock: no other writer, in this process or another, runs between
   * the match and the write. Inserting an `_id` that exists but failed the filter is a DuplicateKeyError.
   */
  private async modify(filter: Filter, update: Update, multi: boolean, upsert: boolean, keepBefore = false): Promise<Outcome<T>> {
    assertUpdate(update);
    return this.write((db) => {
      const catalog = db.catalog(this.name);
      const found = this.select(db, catalog, filter, multi ? {} : { limit: 1 });
      if (found.length === 0 && upsert) {
        const inserted = upsertDocument(filter, update) as T;
        this.insertDoc(db, inserted, catalog);
        return { matched: 0, before: [], after: [], modified: 0, inserted };
      }
      // The documents were just decoded for this call: updating them saves a copy each, unless the caller wants them as they were.
      const after = found.map((row) => (keepBefore ? applyUpdate(row.doc, update) : updateInPlace(row.doc, update)));
      const modified = found.filter((row, i) => this.replaceDoc(db, row, after[i]!, catalog)).length;
      return { matched: found.length, before: keepBefore ? found.map((row) => row.doc) : [], after, modified, inserted: null };
    });
  }

  private remove(filter: Filter, limit: number): Promise<number> {
    return this.write((db) => {
      const catalog = db.catalog(this.name);
      const found = this.select(db, catalog, filter, { limit });
      for (const { doc } of found) {
        db.statement(this.#sql.delete).run(doc._id);
        if (catalog.uniques.length > 0) db.statement(`DELETE FROM ${META.keys} WHERE coll = ? AND id = ?`).run(this.name, doc._id);
      }
      return found.length;
    });
  }

  /** The matching documents in order, skipped and limited; runs inside the caller's transaction. */
  private select(db: SqliteDatabase, catalog: CollectionCatalog, filter: Filter, options: FindOptions): Row<T>[] {
    const id = filter._id;
    if (typeof id === 'string') return this.byId(db, id, filter, options.skip);
    const { sql, params, sorted } = selectSql(this.name, filter, options.sort, catalog.arrays);
    const skip = options.skip ?? 0;
    const limit = options.limit ?? 0;
    const rows: Row<T>[] = [];
    if (!sorted) {
      // A sort on an array path: MongoDB orders by an element, which SQL cannot express.
      for (const text of db.statement(sql).iterate(...params) as Iterable<string>) {
        const doc = decodeJson<T>(text);
        if (matches(doc, filter)) rows.push({ text, doc });
      }
      // Rows hold the document under `doc`, so the sort paths are taken from there.
      const ordered = sortDocuments(rows, Object.fromEntries(Object.entries(options.sort!).map(([path, d]) => [`doc.${path}`, d])));
      return ordered.slice(skip, limit > 0 ? skip + limit : undefined);
    }
    // SQL may return more than matches, so skip and limit count decided matches, stopping early.
    let skipped = 0;
    for (const text of db.statement(sql).iterate(...params) as Iterable<string>) {
      const doc = decodeJson<T>(text);
      if (!matches(doc, filter)) continue;
      if (skipped < skip) {
        skipped += 1;
        continue;
      }
      rows.push({ text, doc });
      if (limit > 0 && rows.length >= limit) break;
    }
    return rows;
  }

  /**
   * The match of a filter that names one `_id`: found by the primary key, then decided by
   * `matches` when the filter has other conditions too (the commonest guarded write, `_id` plus a
   * version or revision, needs no SQL of its own). One document at most, so a sort changes nothing.
   */
  private byId(db: SqliteDatabase, id: string, filter: Filter, skip = 0): Row<T>[] {
    if (skip > 0) return [];
    const text = db.statement(this.#sql.byId).get(id) as string | undefined;
    if (text === undefined) return [];
    const doc = decodeJson<T>(text);
    // The `id` column always holds the document's `_id`: a filter of `_id` alone is decided already.
    for (const key in filter) if (key !== '_id') return matches(doc, filter) ? [{ text, doc }] : [];
    return [{ text, doc }];
  }

  private insertDoc(db: SqliteDatabase, doc: T, catalog: CollectionCatalog): void {
    if (typeof doc._id !== 'string') throw new TypeError(`insert into ${this.name}: _id must be a string, got ${JSON.stringify(doc._id)}`);
    try {
      db.statement(this.#sql.insert).run(doc._id, encodeJson(doc));
    } catch (error) {
      if (isConstraintError(error)) throw new DuplicateKeyError(this.name, { _id: doc._id }, { cause: error });
      throw error;
    }
    this.writeKeys(db, doc, catalog.uniques);
    this.recordArrays(db, doc, catalog);
  }

  /** Writes `next` over the stored row when its content differs; returns whether it did. */
  private replaceDoc(db: SqliteDatabase, row: Row<T>, next: T, catalog: CollectionCatalog): boolean {
    const text = encodeJson(next);
    if (text === row.text) return false;
    db.statement(this.#sql.update).run(text, next._id);
    if (catalog.uniques.length > 0) {
      db.statement(`DELETE FROM ${META.keys} WHERE coll = ? AND id = ?`).run(this.name, next._id);
      this.writeKeys(db, next, catalog.uniques);
    }
    this.recordArrays(db, next, catalog);
    return true;
  }

  /** Claims the document's keys in each unique index; a key held by another document is a DuplicateKeyError. */
  private writeKeys(db: SqliteDatabase, doc: T, uniques: readonly UniqueIndex[]): void {
    const insert = db.statement(`INSERT INTO ${META.keys} (coll, idx, key, id) VALUES (?, ?, ?, ?)`);
    for (const index of uniques) {
      for (const [key, value] of keysOf(doc, index.keys)) {
        try {
          insert.run(this.name, index.name, key, doc._id);
        } catch (error) {
          if (isConstraintError(error)) throw new DuplicateKeyError(this.name, value, { cause: error });
          throw error;
        }
      }
    }
  }

  /** Records the array paths of `doc` that the catalog does not know yet (no statement when there is none). */
  private recordArrays(db: SqliteDatabase, doc: T, catalog: CollectionCatalog): void {
    const fresh = arrayPathsOf(doc).filter((path) => !catalog.arrays.has(path));
    if (fresh.length === 0) return;
    db.statement(`INSERT OR IGNORE INTO ${META.arrays} (coll, path) SELECT ?, value FROM json_each(?)`).run(this.name, JSON.stringify(fresh));
    db.catalogChanged();
  }

  /**
   * Runs a write `operation` under the write lock, in the transaction of the database's next
   * group commit (SqliteDatabase.writeSoon) and in a savepoint of its own within it.
   */
  private write<R>(operation: (db: SqliteDatabase) => R): Promise<R> {
    const db = this.slot.database();
    return db
      .writeSoon(() => this.run((open) => open.write(() => operation(open))))
      .catch((error: unknown) => {
        throw asUnavailable(error, db);
      });
  }

  /**
   * Runs `operation` on the open database, with the table in place. Another process may have
   * dropped the table since this connection last saw it; then it is created again, once.
   */
  private run<R>(operation: (db: SqliteDatabase) => R): R {
    const db = this.slot.database();
    db.ensureTable(this.name);
    try {
      return operation(db);
    } catch (error) {
      if (!(error instanceof Database.SqliteError) || !/no such table/.test(error.message)) throw asUnavailable(error, db);
      db.forgetTable(this.name);
      db.ensureTable(this.name);
      try {
        return operation(db);
      } catch (retryError) {
        throw asUnavailable(retryError, db);
      }
    }
  }
}

/**
 * A document's keys in an index, each as its JSON text and as `{ path: value }` for the error:
 * a missing field is null, an array field gives one key per element (MongoDB's multikey index).
 */
function keysOf(doc: Doc, fields: [string, number][]): Map<string, Record<string, unknown>> {
  let tuples: unknown[][] = [[]];
  for (const [path] of fields) {
    const found = valuesAt(doc, path).flatMap((v) => (Array.isArray(v) ? (v.length > 0 ? v : [null]) : [v]));
    const values = found.length > 0 ? found : [null];
    tuples = tuples.flatMap((tuple) => values.map((v) => [...tuple, v]));
  }
  return new Map(tuples.map((tuple) => [encodeJson(tuple), Object.fromEntries(fields.map(([path], i) => [path, tuple[i]]))]));
}

/** Another process held the lock for longer than busy_timeout: retryable, not a bug. */
function asUnavailable(error: unknown, db: SqliteDatabase): unknown {
  if (!(error instanceof Database.SqliteError) || !/^SQLITE_(BUSY|LOCKED)/.test(error.code)) return error;
  return new UnavailableError(`embedded store ${db.file} stayed locked by another process; retry`, { cause: error });
}

function isConstraintError(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_CONSTRAINT');
}
