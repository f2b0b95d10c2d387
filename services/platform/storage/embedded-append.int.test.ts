import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { appendThroughOpenFile } from './embedded-append.js';
import type { Datastore } from './embedded-collection.js';

// The embedded engine's append path, read back from the file itself (what a restarted process
// would load), not from nedb's memory.
const Nedb = createRequire(import.meta.url)('@seald-io/nedb') as typeof import('@seald-io/nedb').default;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orderflow-append-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function open(filename: string): Promise<Datastore> {
  const datastore = new Nedb({ filename }) as unknown as Datastore;
  appendThroughOpenFile(datastore);
  await (datastore as unknown as { loadDatabaseAsync(): Promise<void> }).loadDatabaseAsync();
  return datastore;
}

const onDisk = async (filename: string) =>
  (await readFile(filename, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

it('puts every acknowledged write in the file, as nedb lines a fresh load reads back', async () => {
  const filename = join(dir, 'things.db');
  const db = (await open(filename)) as unknown as { insertAsync(d: object): Promise<unknown>; updateAsync(q: object, u: object): Promise<unknown> };
  await db.insertAsync({ _id: 'a', n: 1, at: new Date('2030-01-01T00:00:00Z') });
  await db.updateAsync({ _id: 'a' }, { $set: { n: 2 } });
  expect((await onDisk(filename)).map((d) => d.n)).toEqual([1, 2]);
  const reloaded = (await open(filename)) as unknown as { findOneAsync(q: object): Promise<Record<string, unknown>> };
  expect(await reloaded.findOneAsync({ _id: 'a' })).toEqual({ _id: 'a', n: 2, at: new Date('2030-01-01T00:00:00Z') });
});

it('writes into the new file after a compaction replaced the old one', async () => {
  const filename = join(dir, 'things.db');
  const db = (await open(filename)) as unknown as {
    insertAsync(d: object): Promise<unknown>;
    compactDatafileAsync(): Promise<void>;
  };
  await db.insertAsync({ _id: 'before' });
  await db.compactDatafileAsync();
  await db.insertAsync({ _id: 'after' });
  // Had the old descriptor been kept, 'after' would have gone to the replaced (unlinked) file.
  expect((await onDisk(filename)).map((d) => d._id)).toEqual(['before', 'after']);
});
