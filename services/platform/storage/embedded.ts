import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertCollectionName } from './checks.js';
import { EmbeddedCollection } from './embedded-collection.js';
import { SqliteDatabase } from './sqlite-database.js';
import type { Collection, Doc, DocumentStore } from './types.js';

/** Options of `openEmbeddedStore`; they take effect when the process first opens the directory's file. */
export interface EmbeddedStoreOptions {
  /** How long a write waits for another process holding the database's write lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** The database file of a data directory: one SQLite file per service (`DATA_DIR/<service>/store.sqlite`). */
export const DATABASE_FILE = 'store.sqlite';

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * A process keeps one connection per database file, shared by every handle `openEmbeddedStore`
 * returns for it (services and replicas booted in one process); the last handle to close closes
 * it. Other processes open their own connections on the same file: SQLite coordinates them.
 */
interface SharedDatabase {
  readonly database: SqliteDatabase;
  refs: number;
}

const databases = new Map<string, SharedDatabase>();

/** Opens (or joins this process's connection to) the SQLite store in `dataDir`, creating the directory. */
export async function openEmbeddedStore(dataDir: string, options: EmbeddedStoreOptions = {}): Promise<DocumentStore> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const file = join(dir, DATABASE_FILE);
  let shared = databases.get(file);
  if (shared === undefined) {
    shared = { database: new SqliteDatabase(file, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS), refs: 0 };
    databases.set(file, shared);
  }
  shared.refs += 1;
  return new EmbeddedStore(shared);
}

class EmbeddedStore implements DocumentStore {
  readonly kind = 'embedded';
  #closed = false;

  constructor(private readonly shared: SharedDatabase) {}

  collection<T extends Doc>(name: string): Collection<T> {
    const database = this.shared.database;
    if (this.#closed || database.closed) throw new Error(`embedded store ${database.file} is closed`);
    assertCollectionName(name);
    if (/^sqlite_/i.test(name)) throw new TypeError(`collection name ${JSON.stringify(name)}: names starting with sqlite_ are SQLite's`);
    return new EmbeddedCollection<T>(name, {
      database() {
        if (database.closed) throw new Error(`embedded store ${database.file} is closed`);
        return database;
      },
    });
  }

  async collectionNames(): Promise<string[]> {
    if (this.#closed || this.shared.database.closed) throw new Error(`embedded store ${this.shared.database.file} is closed`);
    return this.shared.database.tableNames();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.shared.refs -= 1;
    if (this.shared.refs > 0) return;
    if (databases.get(this.shared.database.file) === this.shared) databases.delete(this.shared.database.file);
    this.shared.database.close();
  }
}
