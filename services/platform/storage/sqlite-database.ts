// One SQLite database file and the better-sqlite3 connection a process keeps on it.
//
// Durability and sharing: WAL journal with synchronous=NORMAL. A committed transaction is in the
// WAL when the call returns, so a killed process (kill -9) loses nothing it committed; on power
// loss the last transactions before the WAL was synced to disk may be lost, but the database is
// never corrupted (SQLite's WAL guarantee). Several processes may open one file: writers take
// the file's write lock with BEGIN IMMEDIATE and wait up to `busy_timeout` for it; readers never
// block writers. better-sqlite3 is synchronous, so a wait for the lock blocks this process's
// event loop: transactions here are kept short (one document operation each).
import Database, { type Statement } from 'better-sqlite3';
import { quoteIdentifier } from './sqlite-query.js';

/** The engine's own tables; a collection name cannot contain ':' so none can clash with them. */
export const META = {
  /** Every createIndex: its SQL index name, keys (JSON list of [path, direction]) and uniqueness. */
  indexes: quoteIdentifier('orderflow:indexes'),
  /** Paths at which some document of a collection holds an array (see sqlite-query.ts). */
  arrays: quoteIdentifier('orderflow:arrays'),
  /** Keys of unique indexes, one row per key (an array field gives a row per element). */
  keys: quoteIdentifier('orderflow:keys'),
  /** One row: a counter bumped by every transaction that changes `indexes` or `arrays` (see `catalog`). */
  catalog: quoteIdentifier('orderflow:catalog'),
} as const;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ${META.indexes} (coll TEXT NOT NULL, name TEXT NOT NULL, keys TEXT NOT NULL, is_unique INTEGER NOT NULL, PRIMARY KEY (coll, name));
  CREATE TABLE IF NOT EXISTS ${META.arrays} (coll TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (coll, path));
  CREATE TABLE IF NOT EXISTS ${META.keys} (coll TEXT NOT NULL, idx TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (coll, idx, key));
  CREATE INDEX IF NOT EXISTS ${quoteIdentifier('orderflow:keys:by_id')} ON ${META.keys} (coll, id);
  CREATE TABLE IF NOT EXISTS ${META.catalog} (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL);
`;

/** A unique index as registered in META.indexes. */
export interface UniqueIndex {
  name: string;
  keys: [string, number][];
}

/** What the engine's own tables say about one collection, as of one transaction. */
export interface CollectionCatalog {
  readonly uniques: readonly UniqueIndex[];
  /** Paths at which some document holds an array. */
  readonly arrays: ReadonlySet<string>;
}

const MAX_CACHED_STATEMENTS = 500;

export class SqliteDatabase {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Statement>();
  // Tables this connection has created or seen; a drop by another process is noticed as 'no such table'.
  readonly #tables = new Set<string>();
  readonly #transaction: Database.Transaction<(work: () => unknown) => unknown>;
  // Catalogs as of META.catalog's version `#catalogVersion`; none is kept while the open write
  // transaction has changed the catalog, since it may yet roll back.
  readonly #catalogs = new Map<string, CollectionCatalog>();
  #catalogVersion: number | undefined;
  #catalogChanging = false;
  #closed = false;

  constructor(
    readonly file: string,
    busyTimeoutMs: number,
  ) {
    // `timeout` is SQLite's busy_timeout: how long a statement waits for another process's lock.
    this.#db = new Database(file, { timeout: busyTimeoutMs });
    try {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.exec(SCHEMA);
    } catch (error) {
      this.#db.close();
      throw error;
    }
    this.#transaction = this.#db.transaction((work: () => unknown) => work());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The prepared statement for `sql`, prepared once per connection; row-returning ones yield their first column. */
  statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) this.#statements.clear();
      statement = this.#db.prepare(sql);
      if (statement.reader) statement.pluck();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in one read transaction: every statement in it sees the same snapshot. */
  read<R>(work: () => R): R {
    return this.#transaction.deferred(work) as R;
  }

  /** Runs `work` holding the database's write lock (BEGIN IMMEDIATE); a throw rolls everything back. */
  write<R>(work: () => R): R {
    try {
      return this.#transaction.immediate(work) as R;
    } finally {
      if (this.#catalogChanging && !this.#db.inTransaction) {
        this.#catalogChanging = false;
        this.#catalogVersion = undefined;
      }
    }
  }

  /**
   * The collection's unique indexes and array paths, inside a transaction. They are cached per
   * connection and read again only when META.catalog's version differs from the cached one: every
   * change to them, in any process, bumps it in the same transaction (`catalogChanged`), so one
   * single-row read per call tells whether the cache still holds.
   */
  catalog(collection: string): CollectionCatalog {
    const version = (this.statement(`SELECT version FROM ${META.catalog}`).get() as number | undefined) ?? 0;
    if (version !== this.#catalogVersion) {
      this.#catalogs.clear();
      this.#catalogVersion = this.#catalogChanging ? undefined : version;
    }
    let catalog = this.#catalogs.get(collection);
    if (catalog === undefined) {
      catalog = this.loadCatalog(collection);
      if (this.#catalogVersion !== undefined) this.#catalogs.set(collection, catalog);
    }
    return catalog;
  }

  /** Inside a write transaction that changes META.indexes or META.arrays: tells every connection to read them again. */
  catalogChanged(): void {
    this.statement(`INSERT INTO ${META.catalog} (id, version) VALUES (0, 1) ON CONFLICT (id) DO UPDATE SET version = version + 1`).run();
    this.#catalogChanging = true;
    this.#catalogVersion = undefined;
    this.#catalogs.clear();
  }

  /** The collections' tables: every table but SQLite's own and the engine's (named `orderflow:*`). */
  tableNames(): string[] {
    // Cached readers pluck their first column.
    return this.statement(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'orderflow:%' ORDER BY name`).all() as string[];
  }

  /** Creates the collection's table unless this connection already knows it (outside any transaction). */
  ensureTable(collection: string): void {
    if (this.#tables.has(collection)) return;
    this.#db.exec(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(collection)} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
    this.#tables.add(collection);
  }

  /** Forgets that the table exists (after a drop, here or in another process). */
  forgetTable(collection: string): void {
    this.#tables.delete(collection);
  }

  /** Runs DDL (CREATE INDEX, DROP TABLE) inside the current transaction. */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  private loadCatalog(collection: string): CollectionCatalog {
    const indexes = this.statement(`SELECT name, keys FROM ${META.indexes} WHERE coll = ? AND is_unique = 1`).raw().all(collection) as [string, string][];
    return {
      uniques: indexes.map(([name, keys]) => ({ name, keys: JSON.parse(keys) as [string, number][] })),
      arrays: new Set(this.statement(`SELECT path FROM ${META.arrays} WHERE coll = ?`).all(collection) as string[]),
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}
