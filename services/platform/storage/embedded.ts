import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { assertCollectionName } from './checks.js';
import { appendThroughOpenFile } from './embedded-append.js';
import { EmbeddedCollection, type Datastore } from './embedded-collection.js';
import type { Collection, Doc, DocumentStore } from './types.js';

// The package is CommonJS whose typings declare an ES default export; requiring it gives the
// constructor that the `import()` type in embedded-collection.ts describes.
const NedbDatastore = createRequire(import.meta.url)('@seald-io/nedb') as typeof import('@seald-io/nedb').default;

/** Options of `openEmbeddedStore`; they take effect when the directory's engine is first opened. */
export interface EmbeddedStoreOptions {
  /**
   * How often each collection file is rewritten to one line per live document (nedb appends a
   * line per write). 0 disables; files are always compacted when loaded and when closed.
   * Default 10 minutes.
   */
  compactionIntervalMs?: number;
}

/**
 * The engine behind one data directory: a nedb datastore per collection, file `<dir>/<name>.db`.
 * The files belong to one process — two nedb instances on one file corrupt it — so a process
 * keeps one engine per directory, and every service or replica running in the process shares it
 * through the handles `openEmbeddedStore` returns; the last handle to close closes the engine.
 * Separate processes need separate directories (or MongoDB).
 */
interface Engine {
  readonly dir: string;
  readonly compactionIntervalMs: number;
  readonly datastores: Map<string, { datastore: Datastore; ready: Promise<Datastore> }>;
  refs: number;
  closed: boolean;
}

const engines = new Map<string, Engine>();
// An engine still compacting its files on close; a new engine on that directory waits for it.
const closings = new Map<string, Promise<void>>();

const DEFAULT_COMPACTION_INTERVAL_MS = 10 * 60_000;

/** Opens (or joins this process's engine for) the embedded store in `dataDir`, creating the directory. */
export async function openEmbeddedStore(dataDir: string, options: EmbeddedStoreOptions = {}): Promise<DocumentStore> {
  const dir = resolve(dataDir);
  await closings.get(dir);
  await mkdir(dir, { recursive: true });
  let engine = engines.get(dir);
  if (engine === undefined) {
    engine = {
      dir,
      compactionIntervalMs: options.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS,
      datastores: new Map(),
      refs: 0,
      closed: false,
    };
    engines.set(dir, engine);
  }
  engine.refs += 1;
  return new EmbeddedStore(engine);
}

class EmbeddedStore implements DocumentStore {
  readonly kind = 'embedded';
  private closed = false;

  constructor(private readonly engine: Engine) {}

  collection<T extends Doc>(name: string): Collection<T> {
    if (this.closed) throw new Error(`embedded store in ${this.engine.dir} is closed`);
    assertCollectionName(name);
    const engine = this.engine;
    return new EmbeddedCollection<T>(name, {
      ready: datastoreOf(engine, name),
      assertOpen() {
        // A handle outliving the engine would write files that a newer engine may own.
        if (engine.closed) throw new Error(`embedded store in ${engine.dir} is closed`);
      },
      reloaded: (datastore) => startCompaction(engine, datastore),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine.refs -= 1;
    if (this.engine.refs === 0) await closeEngine(this.engine);
  }
}

function datastoreOf(engine: Engine, name: string): Promise<Datastore> {
  let entry = engine.datastores.get(name);
  if (entry === undefined) {
    // timestampData stays off: documents hold only the caller's fields.
    const datastore = new NedbDatastore({ filename: join(engine.dir, `${name}.db`), timestampData: false });
    appendThroughOpenFile(datastore);
    const ready = datastore.loadDatabaseAsync().then(() => {
      startCompaction(engine, datastore);
      return datastore;
    });
    // Callers see a failed load through `ready`; this keeps it from also surfacing as unhandled.
    ready.catch(() => undefined);
    entry = { datastore, ready };
    engine.datastores.set(name, entry);
  }
  return entry.ready;
}

function startCompaction(engine: Engine, datastore: Datastore): void {
  if (engine.compactionIntervalMs > 0 && !engine.closed) datastore.setAutocompactionInterval(engine.compactionIntervalMs);
}

async function closeEngine(engine: Engine): Promise<void> {
  engine.closed = true;
  engines.delete(engine.dir);
  const done = (async () => {
    for (const { datastore, ready } of engine.datastores.values()) {
      datastore.stopAutocompaction();
      // Compaction queues behind pending writes, so everything acknowledged is on disk after it.
      if (await ready.then(() => true, () => false)) await datastore.compactDatafileAsync();
    }
  })();
  closings.set(engine.dir, done);
  try {
    await done;
  } finally {
    if (closings.get(engine.dir) === done) closings.delete(engine.dir);
  }
}
