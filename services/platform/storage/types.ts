/**
 * A stored document. Ids are strings in both engines (the MongoDB adapter never lets the server
 * mint an ObjectId), so code written against one engine runs unchanged on the other.
 */
export type Doc = { _id: string } & Record<string, unknown>;

/**
 * A query: the subset of the MongoDB query language that both engines evaluate the same way.
 * - equality on a field or dotted path (`{ 'total.currency': 'EUR' }`); equality against an
 *   array field matches when any element is equal (`{ slots: 'o-1:3' }`);
 * - `$in`, `$gt`, `$gte`, `$lt`, `$lte` (also element-wise on array fields), `$exists`;
 * - `$ne` and `$nin` on scalar fields (the engines disagree on array fields), missing fields match;
 * - `$or` and `$and` with lists of such queries.
 * Not in the subset: equality with `null` (use `$exists`), comparisons across types, `$regex`,
 * `$elemMatch`, `$size`, `$where`, and field names that contain `.` or start with `$`.
 */
export type Filter = Record<string, unknown>;

/**
 * An update: operators only, never a whole replacement (use `replaceOne` for that).
 * `$push` and `$addToSet` accept `{ $each: [...] }`; `$setOnInsert` applies only when an upsert
 * inserts. Paths may be dotted. Two operators must not touch the same path.
 */
export interface Update {
  $set?: Record<string, unknown>;
  $unset?: Record<string, '' | 1 | true>;
  $inc?: Record<string, number>;
  $push?: Record<string, unknown>;
  $addToSet?: Record<string, unknown>;
  $setOnInsert?: Record<string, unknown>;
  $max?: Record<string, unknown>;
  $min?: Record<string, unknown>;
}

/** Sort order: field (or dotted path) to 1 ascending / -1 descending; sort on fields of one type. */
export type Sort = Record<string, 1 | -1>;

/** Options of `Collection.createIndex`. */
export interface IndexOptions {
  /** Reject a second document with the same key (each element of an array field is a key). Default false. */
  unique?: boolean;
  /** Index name; MongoDB only (the embedded engine names its SQL index by collection and fields). Default: derived from the keys. */
  name?: string;
}

/** Options of `Collection.find`. */
export interface FindOptions {
  /** Sort order applied before skip and limit. Default: unspecified (engine order). */
  sort?: Sort;
  /** Maximum number of documents returned; 0 means no limit. Default 0. */
  limit?: number;
  /** Number of matching documents skipped. Default 0. */
  skip?: number;
}

/** Options of `updateOne` and `replaceOne`. */
export interface UpsertOptions {
  /** Insert a document when nothing matches: built from the filter's equalities plus the update. Default false. */
  upsert?: boolean;
}

/** Options of `findOneAndUpdate`. */
export interface FindOneAndUpdateOptions extends UpsertOptions {
  /** Return the document as it was before or after the update. Default 'after'. */
  returnDocument?: 'before' | 'after';
}

/** Outcome of `updateOne` and `replaceOne`: `modified` counts documents whose content changed. */
export interface UpdateResult {
  matched: number;
  modified: number;
  upserted: boolean;
}

/** Outcome of `updateMany`. */
export interface UpdateManyResult {
  matched: number;
  modified: number;
}

/**
 * A named set of documents. Every single-document write is atomic: a filter + update applies
 * only if the filter still matches at the moment of writing (optimistic concurrency relies on it).
 */
export interface Collection<T extends Doc> {
  /** The collection's name (the embedded engine's table name). */
  readonly name: string;
  /** Creates the index when absent; calling again with the same keys and options does nothing. */
  createIndex(keys: Sort, options?: IndexOptions): Promise<void>;
  /** Throws DuplicateKeyError on an `_id` or unique-index clash; nothing is written then. */
  insertOne(doc: T): Promise<void>;
  /** Ordered: on a clash the documents before it are written, the clashing one and the rest are not (DuplicateKeyError). */
  insertMany(docs: T[]): Promise<void>;
  findOne(filter: Filter): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  countDocuments(filter?: Filter): Promise<number>;
  /** Upserting into an `_id` that exists but does not match the filter throws DuplicateKeyError. */
  updateOne(filter: Filter, update: Update, options?: UpsertOptions): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateManyResult>;
  /** Returns null when nothing matched (and, with returnDocument 'before', when the upsert inserted). */
  findOneAndUpdate(filter: Filter, update: Update, options?: FindOneAndUpdateOptions): Promise<T | null>;
  /** Replaces the whole document (same `_id`) of the first match. */
  replaceOne(filter: Filter, doc: T, options?: UpsertOptions): Promise<UpdateResult>;
  /** Returns the number of documents deleted (0 or 1). */
  deleteOne(filter: Filter): Promise<number>;
  /** Returns the number of documents deleted. */
  deleteMany(filter: Filter): Promise<number>;
  /** Removes all documents and indexes; no error when the collection does not exist. */
  drop(): Promise<void>;
}

/** A database: MongoDB in production, the embedded SQLite engine on a bare machine. */
export interface DocumentStore {
  readonly kind: 'mongodb' | 'embedded';
  /** Cheap and synchronous; the collection springs into existence on first use. Names: `[A-Za-z0-9_-]`, dots inside. */
  collection<T extends Doc>(name: string): Collection<T>;
  /** The names of the collections that exist (hold documents or indexes), sorted. */
  collectionNames(): Promise<string[]>;
  /** Releases this handle; the shared client or engine closes when its last handle does. */
  close(): Promise<void>;
}

/**
 * A write clashed with the `_id` or a unique index (MongoDB error 11000; in the embedded engine a
 * primary-key or unique-key row that another document holds).
 * For the event store this is the optimistic-concurrency signal.
 */
export class DuplicateKeyError extends Error {
  readonly code = 'DUPLICATE_KEY';
  constructor(
    /** Collection written to. */
    readonly collection: string,
    /** The clashing key as `{ field: value }` (MongoDB's `keyValue`; the embedded engine reports the same shape). */
    readonly key: unknown,
    options?: { cause?: unknown },
  ) {
    super(`duplicate key in ${collection}: ${describeKey(key)}`, options);
    this.name = 'DuplicateKeyError';
  }
}

function describeKey(key: unknown): string {
  try {
    return JSON.stringify(key) ?? String(key);
  } catch {
    return String(key);
  }
}
