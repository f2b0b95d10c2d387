// One SQLite database file and the better-sqlite3 connection a process keeps on it.
//
// Durability and sharing: WAL journal with synchronous=NORMAL. A committed transaction is in the
// WAL when the call returns, so a killed process (kill -9) loses nothing it committed; on power
// loss the last transactions before the WAL was synced to disk may be lost, but the database is
// never corrupted (SQLite's WAL guarantee). Several processes may open one file: writers take
// the file's write lock with BEGIN IMMEDIATE and wait up to `busy_timeout` for it; readers never
// block writers. better-sqlite3 is synchronous, so a wait for the lock blocks this process's
// event loop: transactions here are kept short. Writes issued in one turn of the event loop share
// one transaction (group commit, `writeSoon`), each in a savepoint of its own; a write's promise
// settles once that transaction is committed, so the durability above holds for every write.
import Database, { type Statement } from 'better-sqlite3';
import { counter } from '../metrics.js';
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

const groupedWrites = counter('orderflow_storage_writes_total', 'Write operations of the embedded engine (each an insert, update, replace or delete call)');
const groupCommits = counter('orderflow_storage_commits_total', 'Write transactions the embedded engine committed: write operations issued together share one (group commit)');

/** A write waiting for the next group commit. */
interface QueuedWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

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
  /** Writes issued since the last group commit; one is scheduled whenever this is not empty. */
  #queued: QueuedWrite[] = [];

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
   * Runs `work` under the write lock in a transaction it shares with every other write issued in
   * the same turn of the event loop (group commit): one commit, the costliest part of a small
   * write, for all of them. `work` does its writes through `write`, which nested in the group's
   * transaction is a savepoint, so a throw undoes only its own writes and rejects only its own
   * promise. Each promise settles once the group is committed; when the commit fails, every
   * write of the group is undone and rejected with that error.
   */
  writeSoon<R>(work: () => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queued.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.#queued.length === 1) setImmediate(() => this.#commitQueued());
    });
  }

  #commitQueued(): void {
    const group = this.#queued.splice(0);
    if (group.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      if (this.#closed) throw new Error(`embedded store ${this.file} is closed`);
      this.write(() => {
        for (const { work } of group) {
          try {
            outcomes.push({ ok: true, value: work() });
          } catch (error) {
            outcomes.push({ ok: false, value: error });
          }
        }
      });
    } catch (error) {
      for (const { reject } of group) reject(error);
      return;
    }
    groupedWrites.inc(group.length);
    groupCommits.inc();
    group.forEach(({ resolve, reject }, i) => (outcomes[i]!.ok ? resolve : reject)(outcomes[i]!.value));
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
    this.#commitQueued(); // what was issued before the close is written
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}
