// FerretDB (MongoDB wire protocol on SQLite) runs the MongoDB leg where no mongod can be had.
// Where it behaves differently from MongoDB, the tests that depend on MongoDB's behaviour are
// skipped on it with the reason below — and only there; the README lists the same table. The
// adapter is never bent to FerretDB: compose runs a real MongoDB.
import { MongoClient } from 'mongodb';
import { it, type TestFunction } from 'vitest';
import { testMongodbUri } from './storage.js';

/** A true difference between FerretDB 1.24 and MongoDB, by the behaviour a test relies on. */
export const ferretdbDifferences = {
  atomicUpdates:
    'FerretDB 1.24 applies an update as read, modify, write back, without isolation, so concurrent updates of one document are lost; MongoDB applies each single-document update atomically',
  uniqueIndexOnUpdate:
    'FerretDB 1.24 reports a unique-index clash caused by an update as InternalError (code 1); MongoDB reports DuplicateKey (11000)',
  uniqueArrayElements: 'FerretDB 1.24 does not enforce a unique index on each element of an array field (a multikey unique index)',
  idOnlyIndexes:
    'FerretDB 1.24 on SQLite uses an index only for an equality on _id and reads the whole collection for any other filter, so a burst of 50 to 200 orders at once outlasts the deadlines this test holds the system to; MongoDB answers those filters from their indexes',
} as const;

export type FerretdbDifference = keyof typeof ferretdbDifferences;

/** Whether the server at `uri` is FerretDB (its buildInfo names a FerretDB version). */
export async function isFerretDB(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    return typeof info.ferretdbVersion === 'string';
  } finally {
    await client.close();
  }
}

/** The differences of the server the suite runs against: every one on FerretDB, none elsewhere. */
export async function serverDifferences(uri: string | undefined): Promise<Partial<Record<FerretdbDifference, string>>> {
  return uri && (await isFerretDB(uri)) ? { ...ferretdbDifferences } : {};
}

/** `it`, or `it.skip` with the reason in its title when `reason` says the server lacks what the test relies on. */
export function itUnless(reason: string | undefined): (title: string, fn: TestFunction, timeoutMs?: number) => void {
  return (title, fn, timeoutMs) => (reason ? it.skip(`${title} (not on this server: ${reason})`, fn, timeoutMs) : it(title, fn, timeoutMs));
}

/**
 * `itUnless` for a test that relies on `difference`, when the suite's server (MONGODB_URI) is
 * FerretDB. Awaited at the top of a test file: the check asks the server once.
 */
export async function itUnlessServerLacks(difference: FerretdbDifference): Promise<ReturnType<typeof itUnless>> {
  return itUnless((await serverDifferences(testMongodbUri))[difference]);
}
