import { randomUUID } from 'node:crypto';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Collection as MongoCollection,
  type Db,
  type Document,
  type MongoClientOptions,
  type UpdateFilter,
} from 'mongodb';
import { UnavailableError } from '../errors.js';
import { assertCollectionName, assertUpdate, isPlainObject } from './checks.js';
import {
  DuplicateKeyError,
  type Collection,
  type Doc,
  type DocumentStore,
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

/** Options of `openMongoStore`. */
export interface MongoStoreOptions {
  /** Database name. Default: the URI's path (`mongodb://host/<db>`), else 'orderflow'. */
  dbName?: string;
}

// One MongoClient (one connection pool) per URI and process, shared by every store opened on
// it; the last handle to close closes the client.
interface SharedClient {
  readonly client: MongoClient;
  readonly connected: Promise<unknown>;
  refs: number;
}
const clients = new Map<string, SharedClient>();

/** Connects (or joins the process's existing client for this URI) and returns a store on one database. */
export async function openMongoStore(uri: string, options: MongoStoreOptions = {}): Promise<DocumentStore> {
  const dbName = options.dbName ?? databaseNameFromUri(uri) ?? 'orderflow';
  const shared = await acquireClient(uri);
  return new MongoStore(shared.client.db(dbName), () => releaseClient(uri, shared));
}

async function acquireClient(uri: string): Promise<SharedClient> {
  let shared = clients.get(uri);
  if (shared === undefined) {
    const client = new MongoClient(uri, mongoClientOptions(uri));
    shared = { client, connected: client.connect(), refs: 0 };
    clients.set(uri, shared);
  }
  shared.refs += 1;
  try {
    await shared.connected;
    return shared;
  } catch (error) {
    // A failed connect must not poison later attempts: forget the client so the next open retries.
    shared.refs -= 1;
    if (clients.get(uri) === shared) clients.delete(uri);
    if (shared.refs === 0) await shared.client.close().catch(() => undefined);
    throw toUnavailableError('connect', error) ?? error;
  }
}

/**
 * The client settings every Orderflow store uses. ignoreUndefined: an optional field left
 * undefined is omitted, as the embedded engine does, instead of being stored as null. Every write
 * is acknowledged by a majority and journaled: a commit is the outbox record, so an acknowledged
 * append must survive a primary failover (a `w=` or `journal=` in the URI still wins, for
 * deployments that choose otherwise). Server selection gives up after 5 s instead of the driver's
 * 30 s, so a caller gets UNAVAILABLE while it is still waiting for an answer.
 */
export function mongoClientOptions(uri: string): MongoClientOptions {
  const explicitWriteConcern = /[?&](w|journal|wtimeoutMS)=/i.test(uri);
  return {
    ignoreUndefined: true,
    serverSelectionTimeoutMS: 5_000,
    ...(explicitWriteConcern ? {} : { writeConcern: { w: 'majority', journal: true } }),
  };
}

async function releaseClient(uri: string, shared: SharedClient): Promise<void> {
  shared.refs -= 1;
  if (shared.refs > 0) return;
  if (clients.get(uri) === shared) clients.delete(uri);
  await shared.client.close();
}

/** The database named in the URI's path, if any (works for multi-host and +srv URIs, which `URL` rejects). */
export function databaseNameFromUri(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?[^/?]*\/([^?]*)/.exec(uri);
  const name = match?.[1];
  return name ? decodeURIComponent(name) : undefined;
}

class MongoStore implements DocumentStore {
  readonly kind = 'mongodb';
  private readonly collections = new Map<string, Collection<Doc>>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly release: () => Promise<void>,
  ) {}

  collection<T extends Doc>(name: string): Collection<T> {
    assertCollectionName(name);
    let collection = this.collections.get(name);
    if (collection === undefined) {
      collection = new MongoBackedCollection<Doc>(name, this.db.collection(name));
      this.collections.set(name, collection);
    }
    // The map holds one instance per name whatever T the callers view it as.
    return collection as unknown as Collection<T>;
  }

  async collectionNames(): Promise<string[]> {
    try {
      const found = await this.db.listCollections({}, { nameOnly: true }).toArray();
      return found.map((c) => c.name).sort();
    } catch (error) {
      throw toUnavailableError(this.db.databaseName, error) ?? error;
    }
  }

  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }
}

class MongoBackedCollection<T extends Doc> implements Collection<T> {
  constructor(
    readonly name: string,
    private readonly native: MongoCollection<Document>,
  ) {}

  async createIndex(keys: Sort, options: IndexOptions = {}): Promise<void> {
    // Only set options are sent: the server treats an index re-created with the same spec as a
    // no-op, and an explicit `unique: false` is not part of the stored spec.
    const indexOptions = { ...(options.unique ? { unique: true } : {}), ...(options.name ? { name: options.name } : {}) };
    return this.guard(async () => {
      await this.native.createIndex(keys, indexOptions);
    });
  }

  insertOne(doc: T): Promise<void> {
    return this.guard(async () => {
      await this.native.insertOne(doc as Document);
    });
  }

  async insertMany(docs: T[]): Promise<void> {
    if (docs.length === 0) return; // the driver rejects an empty batch
    return this.guard(async () => {
      await this.native.insertMany(docs as Document[], { ordered: true });
    });
  }

  findOne(filter: Filter): Promise<T | null> {
    return this.guard(async () => (await this.native.findOne(filter)) as T | null);
  }

  find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return this.guard(async () => {
      const cursor = this.native.find(filter);
      if (options.sort) cursor.sort(options.sort);
      if (options.skip) cursor.skip(options.skip);
      if (options.limit) cursor.limit(options.limit);
      return (await cursor.toArray()) as unknown as T[];
    });
  }

  countDocuments(filter: Filter = {}): Promise<number> {
    return this.guard(() => this.native.countDocuments(filter));
  }

  async updateOne(filter: Filter, update: Update, options: UpsertOptions = {}): Promise<UpdateResult> {
    assertUpdate(update);
    const upsert = options.upsert ?? false;
    return this.guard(async () => {
      const result = await this.native.updateOne(filter, withStringId(filter, update, upsert), { upsert });
      return { matched: result.matchedCount, modified: result.modifiedCount, upserted: result.upsertedCount > 0 };
    });
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateManyResult> {
    assertUpdate(update);
    return this.guard(async () => {
      const result = await this.native.updateMany(filter, update as UpdateFilter<Document>);
      return { matched: result.matchedCount, modified: result.modifiedCount };
    });
  }

  async findOneAndUpdate(filter: Filter, update: Update, options: FindOneAndUpdateOptions = {}): Promise<T | null> {
    assertUpdate(update);
    const upsert = options.upsert ?? false;
    return this.guard(async () => {
      const doc = await this.native.findOneAndUpdate(filter, withStringId(filter, update, upsert), {
        upsert,
        returnDocument: options.returnDocument ?? 'after',
        includeResultMetadata: false,
      });
      return doc as T | null;
    });
  }

  replaceOne(filter: Filter, doc: T, options: UpsertOptions = {}): Promise<UpdateResult> {
    return this.guard(async () => {
      const result = await this.native.replaceOne(filter, doc, { upsert: options.upsert ?? false });
      return { matched: result.matchedCount, modified: result.modifiedCount, upserted: result.upsertedCount > 0 };
    });
  }

  deleteOne(filter: Filter): Promise<number> {
    return this.guard(async () => (await this.native.deleteOne(filter)).deletedCount);
  }

  deleteMany(filter: Filter): Promise<number> {
    return this.guard(async () => (await this.native.deleteMany(filter)).deletedCount);
  }

  drop(): Promise<void> {
    // The driver swallows NamespaceNotFound, so dropping an absent collection succeeds.
    return this.guard(async () => {
      await this.native.drop();
    });
  }

  private async guard<R>(operation: () => Promise<R>): Promise<R> {
    try {
      return await operation();
    } catch (error) {
      throw toDuplicateKeyError(this.name, error) ?? toUnavailableError(this.name, error) ?? error;
    }
  }
}

/**
 * An upsert whose filter does not pin `_id` would let the server mint an ObjectId; the contract
 * promises string ids, so the adapter supplies one that applies only on insert.
 */
function withStringId(filter: Filter, update: Update, upsert: boolean): UpdateFilter<Document> {
  if (!upsert || pinsId(filter) || update.$setOnInsert?._id !== undefined || update.$set?._id !== undefined) {
    return update as UpdateFilter<Document>;
  }
  return { ...update, $setOnInsert: { ...update.$setOnInsert, _id: randomUUID() } } as UpdateFilter<Document>;
}

/** Whether an upsert built from this filter takes its `_id` from it (equality at top level or in `$and`). */
function pinsId(filter: Filter): boolean {
  if ('_id' in filter) {
    const id = filter._id;
    if (!isPlainObject(id) || '$eq' in id) return true;
  }
  const and = filter.$and;
  return Array.isArray(and) && and.some((part) => isPlainObject(part) && pinsId(part));
}

const DUPLICATE_KEY_CODES = new Set([11000, 11001]);

// Server errors that say "not now" rather than "never": no primary, shutting down, interrupted,
// write concern not satisfied in time. See the server's error_codes.yml.
const TRANSIENT_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  64, // WriteConcernFailed (wtimeout)
]);

/**
 * Network, timeout and server-selection failures, and server errors the driver labels retryable,
 * are the store being unreachable right now: UnavailableError (gRPC UNAVAILABLE), never INTERNAL.
 */
export function toUnavailableError(collection: string, error: unknown): UnavailableError | undefined {
  if (!(error instanceof MongoError)) return undefined;
  const transient =
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error.name === 'MongoTimeoutError' ||
    error.name === 'MongoOperationTimeoutError' ||
    error.hasErrorLabel('RetryableWriteError') ||
    error.hasErrorLabel('TransientTransactionError') ||
    (error instanceof MongoServerError && TRANSIENT_SERVER_CODES.has(Number(error.code)));
  if (!transient) return undefined;
  return new UnavailableError(`storage unavailable (${collection}): ${error.message}`, { cause: error });
}

function toDuplicateKeyError(collection: string, error: unknown): DuplicateKeyError | undefined {
  if (!(error instanceof MongoServerError) || !DUPLICATE_KEY_CODES.has(Number(error.code))) return undefined;
  let key: unknown = error.keyValue ?? error.errorResponse.keyValue;
  if (key === undefined && error instanceof MongoBulkWriteError) {
    // Ordered inserts stop at the first clash, so the first write error is the one to report.
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    const first = writeErrors[0];
    key = (first?.err as { keyValue?: unknown } | undefined)?.keyValue ?? first?.errmsg;
  }
  return new DuplicateKeyError(collection, key ?? error.message, { cause: error });
}
