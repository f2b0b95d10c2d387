// Where a test's services keep their documents: the embedded engine in the test's temporary
// folder, or — on the MongoDB leg, when MONGODB_URI is set — databases of their own on that
// server, named after a fresh prefix so concurrent test files never meet.
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { openServiceStore, serviceDatabaseName, type DocumentStore } from '../storage/index.js';

/** The storage of one test's system. */
export interface TestStorage {
  /** 'mongodb' when the suite runs against MONGODB_URI, else 'embedded'. */
  readonly kind: 'mongodb' | 'embedded';
  /** Variables a service process (or a boot function) needs to open its own store here. */
  readonly env: Record<string, string>;
  /** The URI services are given (a fresh database prefix on the test server); undefined when embedded. */
  readonly mongodbUri: string | undefined;
  /** Opens the store a service owns, as the service itself opens it. */
  open(service: string): Promise<DocumentStore>;
  /** The databases this test created on the server (empty when embedded). */
  databases(): Promise<string[]>;
  /** Drops what the test created on the MongoDB server; the caller removes `dataDir` itself. */
  dispose(): Promise<void>;
}

/** The MongoDB server the suite runs against, if any. */
export const testMongodbUri: string | undefined = process.env.MONGODB_URI || undefined;

/** Replaces the database of a MongoDB URI (keeping hosts, credentials and options). */
export function withDatabase(uri: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) throw new Error(`not a MongoDB URI: ${uri}`);
  return `${match[1]}/${database}${match[2] ?? ''}`;
}

/** Storage for a test whose embedded folders live under `dataDir`. */
export function testStorage(dataDir: string): TestStorage {
  if (!testMongodbUri) {
    return {
      kind: 'embedded',
      env: { DATA_DIR: dataDir },
      mongodbUri: undefined,
      open: (service) => openServiceStore({ service, dataDir }),
      databases: async () => [],
      dispose: async () => undefined,
    };
  }
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const mongodbUri = withDatabase(testMongodbUri, prefix);
  const databases = async () => {
    const client = new MongoClient(testMongodbUri);
    try {
      const { databases: all } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      return all.map((d) => d.name).filter((name) => name.startsWith(`${prefix}_`)).sort();
    } finally {
      await client.close();
    }
  };
  return {
    kind: 'mongodb',
    env: { DATA_DIR: dataDir, MONGODB_URI: mongodbUri },
    mongodbUri,
    open: (service) => openServiceStore({ service, mongodbUri, dataDir }),
    databases,
    async dispose() {
      const names = await databases();
      const client = new MongoClient(testMongodbUri);
      try {
        for (const name of names) await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

/** The database a service of this test owns on the server. */
export function testServiceDatabase(storage: TestStorage, service: string): string | undefined {
  return storage.mongodbUri ? serviceDatabaseName(storage.mongodbUri, service) : undefined;
}
