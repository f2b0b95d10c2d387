import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DuplicateKeyError, openEmbeddedStore, type Doc } from './index.js';

// Two processes on one database file, as two replicas of a service without MongoDB would be.
const ROUNDS = 100;
const fixture = fileURLToPath(new URL('./fixtures/race.ts', import.meta.url));

interface Report {
  idWins: number[];
  keyWins: number[];
  retries: number;
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orderflow-race-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function racer(name: string, other: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, name, other, String(ROUNDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    if (line === 'ready') onReady();
  });
  const report = new Promise<Report>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(lines.at(-1) ?? '{}') as Report);
      else reject(new Error(`racer ${name} exited with ${code}; printed ${JSON.stringify(lines)}`));
    });
  });
  return { ready, report, go: () => child.stdin.end('go\n'), kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

it('keeps every write of two processes racing on one file: no lost update, exactly one winner per key', async () => {
  const setup = await openEmbeddedStore(dir);
  await setup.collection<Doc>('race').insertOne({ _id: 'versioned', version: 0, log: [] });
  await setup.close();

  const racers = [racer('a', 'b'), racer('b', 'a')];
  let reports: Report[];
  try {
    await Promise.all(racers.map((r) => r.ready));
    for (const r of racers) r.go();
    reports = await Promise.all(racers.map((r) => r.report));
  } finally {
    for (const r of racers) r.kill(); // none is left behind when the test fails or times out
  }
  const [a, b] = reports;

  const all = Array.from({ length: ROUNDS }, (_, i) => i);
  // Both processes tried every claim (the fixture runs them round by round): exactly one won each.
  expect([...a!.idWins, ...b!.idWins].sort((x, y) => x - y)).toEqual(all);
  expect([...a!.keyWins, ...b!.keyWins].sort((x, y) => x - y)).toEqual(all);
  expect(Math.min(a!.idWins.length, b!.idWins.length)).toBeGreaterThan(0); // about half each, in practice

  const store = await openEmbeddedStore(dir);
  try {
    const docs = store.collection<Doc>('race');
    expect(await docs.findOne({ _id: 'counter' })).toEqual({ _id: 'counter', n: 2 * ROUNDS });
    for (const [name, report] of [['a', a!], ['b', b!]] as const) {
      for (const i of report.idWins) expect(await docs.findOne({ _id: `claim-${i}` })).toEqual({ _id: `claim-${i}`, by: name });
    }
    // The loser of a key wrote nothing, not even its key of its own.
    const keyed = store.collection<Doc & { keys: string[] }>('keyed');
    expect(await keyed.countDocuments()).toBe(ROUNDS);
    for (const [name, report] of [['a', a!], ['b', b!]] as const) {
      for (const i of report.keyWins) expect(await keyed.findOne({ keys: `k-${i}` })).toMatchObject({ _id: `${name}-${i}` });
    }
    const versioned = (await docs.findOne({ _id: 'versioned' })) as unknown as { version: number; log: string[] };
    const expectedLog = all.flatMap((i) => [`a-${i}`, `b-${i}`]).sort();
    expect(versioned.version).toBe(2 * ROUNDS);
    expect([...versioned.log].sort()).toEqual(expectedLog);
    // Every conflict was a stale version answered with matched 0 and retried, never a lost append.
    expect(versioned.log).toHaveLength(2 * ROUNDS);
  } finally {
    await store.close();
  }
}, 60_000);

it("honours another process's new unique index and first array path on the next read and write", async () => {
  const store = await openEmbeddedStore(join(dir, 'catalog'));
  try {
    const items = store.collection<Doc>('items');
    await items.insertOne({ _id: 'a', sku: 's1' });
    expect(await items.find({ tags: 'x' })).toEqual([]); // this process now knows the collection without either

    const changer = fileURLToPath(new URL('./fixtures/catalog-change.ts', import.meta.url));
    await promisify(execFile)(process.execPath, ['--import', 'tsx', changer, join(dir, 'catalog')]);

    // `tags` holds an array now: equality matches an element, which SQL on the JSON text would miss.
    expect(await items.find({ tags: 'x' })).toEqual([{ _id: 'b', sku: 's2', tags: ['x', 'y'] }]);
    await expect(items.insertOne({ _id: 'c', sku: 's1' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await expect(items.updateOne({ _id: 'a' }, { $set: { sku: 's2' } })).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await items.find({}, { sort: { _id: 1 } })).toEqual([
      { _id: 'a', sku: 's1' },
      { _id: 'b', sku: 's2', tags: ['x', 'y'] },
    ]);
  } finally {
    await store.close();
  }
}, 30_000);
