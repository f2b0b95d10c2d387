import { openEmbeddedStore } from './embedded.js';
import { openMongoStore } from './mongodb.js';
import type { DocumentStore } from './types.js';

export { openEmbeddedStore, type EmbeddedStoreOptions } from './embedded.js';
export { openMongoStore, type MongoStoreOptions } from './mongodb.js';
export {
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

/** Where documents live, as each service's main.ts reads it from the environment. */
export interface StorageSettings {
  /** MongoDB connection string (MONGODB_URI); when unset the embedded engine is used. */
  mongodbUri?: string | undefined;
  /** Directory of the embedded engine's database file (`store.sqlite`); ignored when `mongodbUri` is set. */
  dataDir: string;
}

/** Opens MongoDB when a URI is set, else the embedded SQLite engine in `dataDir` (one database file). */
export function openDocumentStore(settings: StorageSettings): Promise<DocumentStore> {
  return settings.mongodbUri ? openMongoStore(settings.mongodbUri) : openEmbeddedStore(settings.dataDir);
}
