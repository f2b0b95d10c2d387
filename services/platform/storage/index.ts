import { join } from 'node:path';
import { openEmbeddedStore } from './embedded.js';
import { databaseNameFromUri, openMongoStore } from './mongodb.js';
import type { DocumentStore } from './types.js';

export { openEmbeddedStore, type EmbeddedStoreOptions } from './embedded.js';
export { databaseNameFromUri, openMongoStore, toUnavailableError, type MongoStoreOptions } from './mongodb.js';
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

/** Where one service's documents live, as its main.ts reads it from the environment. */
export interface ServiceStorageSettings {
  /** The service that owns the store: the embedded folder `<dataDir>/<service>`, the database `<db>_<service>`. */
  service: string;
  /** MongoDB connection string (MONGODB_URI); when unset the embedded engine is used. */
  mongodbUri?: string | undefined;
  /** MongoDB database (MONGODB_DATABASE); default `serviceDatabaseName(mongodbUri, service)`. */
  mongodbDatabase?: string | undefined;
  /** Parent of every service's embedded folder (DATA_DIR). */
  dataDir: string;
}

/**
 * The database a service owns on a MongoDB server: `<db>_<service>`, where `<db>` is the URI's
 * database (default `orderflow`). Every service gets its own database whatever the URI says, so
 * no service can read or write another's collections, and a projection rebuild in one cannot
 * drop another's.
 */
export function serviceDatabaseName(mongodbUri: string, service: string): string {
  return `${databaseNameFromUri(mongodbUri) ?? 'orderflow'}_${service}`;
}

/** Opens the store a service owns: its own MongoDB database, or its own embedded folder. */
export function openServiceStore(settings: ServiceStorageSettings): Promise<DocumentStore> {
  if (settings.mongodbUri) {
    return openMongoStore(settings.mongodbUri, {
      dbName: settings.mongodbDatabase ?? serviceDatabaseName(settings.mongodbUri, settings.service),
    });
  }
  return openEmbeddedStore(join(settings.dataDir, settings.service));
}
