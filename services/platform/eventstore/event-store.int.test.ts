import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConcurrencyError } from '../errors.js';
import { silentLogger } from '../logging.js';
import { jetStreamPublisher, type MessagePublisher } from '../messaging/envelope.js';
import { connectNats, ensureStream, type Nats } from '../messaging/nats.js';
import { testMongodbUri, withDatabase } from '../testing/storage.js';
import { openDocumentStore, type DocumentStore } from '../storage/index.js';
import { startNatsServer, type TestNatsServer } from '../testing/nats-server.js';
import { waitFor } from '../testing/wait.js';
import { createEventStore, type EventStore } from './event-store.js';
import type { CommitDocument } from './types.js';

const thing = (body: string, id?: string) => ({
  type: 'orderflow.test.v1.ThingHappened',
  data: new TextEncoder().encode(body),
  ...(id ? { id } : {}),
});
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Where a test's documents live: a fresh embedded directory, or a fresh MongoDB database. */
interface StoreTarget {
  dataDir: string;
  mongodbUri?: string;
}

let server: TestNatsServer;
let nats: Nats;
let streamNo = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'event-store-test', logger: silentLogger() });
});

afterAll(async () => {
  await nats?.nc.drain();
  await server?.stop();
});

/** Every message id in a JetStream stream, in stream order. */
async function publishedIds(stream: string): Promise<string[]> {
  const info = await nats.jsm.streams.info(stream);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await nats.jsm.streams.getMessage(stream, { seq });
    if (m) ids.push(m.header.get('Nats-Msg-Id'));
  }
  return ids;
}

function describeEventStoreContract(engine: string, newTarget: () => Promise<StoreTarget>) {
  describe(`event store on ${engine}`, () => {
    let target: StoreTarget;
    let store: DocumentStore;
    let stream: string;
    const opened: EventStore[] = [];

    const open = async (publisher?: MessagePublisher) => {
      const events = createEventStore({ store, logger: silentLogger(), publisher, relay: { sweepIntervalMs: 60_000 } });
      await events.start();
      opened.push(events);
      return events;
    };

    beforeEach(async () => {
      target = await newTarget();
      store = await openDocumentStore(target);
      // One JetStream stream per test; the events' subjects are test.events.<Name>.
      stream = `EVENTS${++streamNo}`;
      await nats.jsm.streams.delete('TEST_EVENTS').catch(() => undefined);
      await ensureStream(nats.jsm, { name: 'TEST_EVENTS', subjects: ['test.events.>'], description: stream });
      return async () => {
        for (const events of opened.splice(0)) await events.close();
        await store.collection('commits').drop(); // a MongoDB test database is left empty
        await store.close();
        await rm(target.dataDir, { recursive: true, force: true });
      };
    });

    it('appends and reads a stream in order', async () => {
      const events = await open();
      const first = await events.append('order-1', 0, [thing('a'), thing('b')]);
      expect(first.version).toBe(2);
      const second = await events.append('order-1', 2, [thing('c')], { correlationId: 'corr', causationId: 'cause' });
      expect(second.version).toBe(3);
      await events.append('order-2', 0, [thing('other')]);

      const read = await events.readStream('order-1');
      expect(read.map((e) => [e.version, text(e.data)])).toEqual([
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ]);
      expect(read[2]).toMatchObject({ correlationId: 'corr', causationId: 'cause', subject: 'test.events.ThingHappened' });
      expect((await events.readStream('order-1', { fromVersion: 2 })).map((e) => e.version)).toEqual([2, 3]);
      expect(await events.readStream('missing')).toEqual([]);
      expect(await events.streamVersion('order-1')).toBe(3);
      expect(await events.streamVersion('missing')).toBe(0);
    });

    it('raises ConcurrencyError for a stale, a future or a duplicate expected version, writing nothing', async () => {
      const events = await open();
      await events.append('order-1', 0, [thing('a'), thing('b')]);
      const stale = events.append('order-1', 1, [thing('stale')]);
      await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(stale).rejects.toMatchObject({ streamId: 'order-1', expectedVersion: 1, actualVersion: 2 });
      await expect(events.append('order-1', 5, [thing('future')])).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(events.append('order-1', 0, [thing('again')])).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await events.readStream('order-1')).map((e) => text(e.data))).toEqual(['a', 'b']);
    });

    it('reads what another writer on the store appended after a read, and refuses an append at the version read then', async () => {
      const one = await open();
      const other = await open();
      await one.append('order-1', 0, [thing('a')]);
      expect((await one.readStream('order-1')).map((e) => text(e.data))).toEqual(['a']);
      await other.append('order-1', 1, [thing('b'), thing('c')]);
      await other.append('order-1', 3, [thing('d')]);

      const stale = one.append('order-1', 1, [thing('lost')]);
      await expect(stale).rejects.toMatchObject({ name: 'ConcurrencyError', expectedVersion: 1, actualVersion: 4 });
      expect((await one.readStream('order-1')).map((e) => [e.version, text(e.data)])).toEqual([
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
        [4, 'd'],
      ]);
      expect((await one.readStream('order-1', { fromVersion: 3 })).map((e) => e.version)).toEqual([3, 4]);
      await one.append('order-1', 4, [thing('e')]);
      expect((await other.readStream('order-1')).map((e) => text(e.data))).toEqual(['a', 'b', 'c', 'd', 'e']);
      // An expected version inside a commit of the other writer's is refused too.
      await expect(one.append('order-1', 2, [thing('inside')])).rejects.toBeInstanceOf(ConcurrencyError);
    });

    it('lets exactly one of many concurrent writers at one version win', async () => {
      const events = await open();
      await events.append('order-1', 0, [thing('start')]);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => events.append('order-1', 1, [thing(`writer-${i}`)])),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(19);
      for (const r of rejected) expect(r.reason).toBeInstanceOf(ConcurrencyError);
      expect(await events.readStream('order-1')).toHaveLength(2);
    });

    it('relays every committed event and outbox message to JetStream exactly once, in stream order', async () => {
      await ensureStream(nats.jsm, { name: 'TEST_COMMANDS', subjects: ['testcmd.>'], description: stream });
      const events = await open(jetStreamPublisher(nats));
      for (let v = 0; v < 10; v++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, s) =>
            events.append(`order-${s}`, v, [thing(`${s}:${v + 1}`, `order-${s}:${v + 1}`)], {
              messages: v === 0 ? [{ id: `cmd-${s}`, type: 'orderflow.test.v1.DoThing', subject: 'testcmd.DoThing', data: new Uint8Array([1]) }] : [],
            }),
          ),
        );
      }
      await events.relay!.flushed();
      const ids = await publishedIds('TEST_EVENTS');
      expect(ids).toHaveLength(200);
      expect(new Set(ids).size).toBe(200);
      for (let s = 0; s < 20; s++) {
        const own = ids.filter((id) => id.startsWith(`order-${s}:`));
        expect(own).toEqual(Array.from({ length: 10 }, (_, v) => `order-${s}:${v + 1}`));
      }
      expect(await publishedIds('TEST_COMMANDS')).toHaveLength(20);
      const last = await nats.jsm.streams.getMessage('TEST_EVENTS', { last_by_subj: 'test.events.ThingHappened' });
      const version = last?.header.get('Orderflow-Stream-Version');
      const streamId = last?.header.get('Orderflow-Stream-Id') ?? '';
      expect(last?.header.get('Nats-Msg-Id')).toBe(`${streamId}:${version}`); // the ids above are <stream>:<version>
      expect(await store.collection<CommitDocument>('commits').countDocuments({ published: false })).toBe(0);
      await nats.jsm.streams.delete('TEST_COMMANDS');
    });

    it('publishes the headers an event was appended with, also when a sweep relays it', async () => {
      const offline = await open();
      await offline.append('order-h', 0, [{ ...thing('placed', 'order-h:1'), headers: { 'Orderflow-Order-Status': 'ORDER_STATUS_PLACED' } }, thing('noted', 'order-h:2')]);
      await offline.close();
      const events = await open(jetStreamPublisher(nats)); // the start-up sweep publishes the commit
      await events.relay!.flushed();
      const info = await nats.jsm.streams.info('TEST_EVENTS');
      const first = await nats.jsm.streams.getMessage('TEST_EVENTS', { seq: info.state.first_seq });
      const second = await nats.jsm.streams.getMessage('TEST_EVENTS', { seq: info.state.first_seq + 1 });
      expect(first?.header.get('Orderflow-Order-Status')).toBe('ORDER_STATUS_PLACED');
      expect(second?.header.get('Orderflow-Order-Status')).toBe('');
      expect(second?.header.get('Nats-Msg-Id')).toBe('order-h:2');
    });

    it('sweeps commits left unpublished at start-up', async () => {
      const offline = await open(); // no publisher: the process "crashed" before relaying
      for (let i = 0; i < 30; i++) await offline.append(`order-${i}`, 0, [thing(`${i}`, `e-${i}`)]);
      expect(await publishedIds('TEST_EVENTS')).toHaveLength(0);

      const restarted = await open(jetStreamPublisher(nats));
      expect(restarted.relay!.stats.swept).toBe(30);
      expect(new Set(await publishedIds('TEST_EVENTS')).size).toBe(30);
      expect(await store.collection<CommitDocument>('commits').countDocuments({ published: false })).toBe(0);
    });

    it('absorbs the duplicates of a relay that published but died before marking the commits', async () => {
      const events = await open(jetStreamPublisher(nats));
      for (let i = 0; i < 25; i++) await events.append(`order-${i}`, 0, [thing(`${i}`, `e-${i}`)]);
      await events.relay!.flushed();
      await store.collection<CommitDocument>('commits').updateMany({}, { $set: { published: false } });

      const restarted = await open(jetStreamPublisher(nats));
      expect(restarted.relay!.stats.swept).toBe(25);
      const ids = await publishedIds('TEST_EVENTS');
      expect(ids).toHaveLength(25);
      expect(new Set(ids).size).toBe(25);
    });

    it('publishes every event exactly once when the writing process is killed mid-way and restarted', async () => {
      const fixture = fileURLToPath(new URL('./fixtures/append-and-relay.ts', import.meta.url));
      await store.close(); // the writer process owns the store until it dies
      // The writer opens the test's store: for the embedded engine, without the leg's MONGODB_URI.
      const { MONGODB_URI: _legUri, ...parentEnv } = process.env;
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, server.url, target.dataDir, '20', '50'], {
        env: { ...parentEnv, ...(target.mongodbUri ? { MONGODB_URI: target.mongodbUri } : {}) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let appended = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        appended += chunk.toString().split('\n').filter((l) => l.startsWith('appended')).length;
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      try {
        await waitFor('the writer to append 300 events', () => appended >= 300, { timeoutMs: 60_000 });
      } finally {
        // Also when the wait failed: a writer left running would append into the next test's stream.
        child.kill('SIGKILL');
        await exited;
      }
      expect(appended).toBeLessThan(1_000); // it really died mid-way

      store = await openDocumentStore(target);
      const restarted = await open(jetStreamPublisher(nats));
      let committed: string[] = [];
      for (let s = 0; s < 20; s++) committed = committed.concat((await restarted.readStream(`thing-${s}`)).map((e) => e.id));
      expect(committed.length).toBeGreaterThanOrEqual(300);
      const ids = await publishedIds('TEST_EVENTS');
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(committed));
      expect(await store.collection<CommitDocument>('commits').countDocuments({ published: false })).toBe(0);
    });
  });
}

describeEventStoreContract('the embedded engine', async () => ({
  dataDir: await mkdtemp(join(tmpdir(), 'orderflow-events-')),
}));

describe.runIf(testMongodbUri)('with MongoDB', () => {
  let n = 0;
  describeEventStoreContract('MongoDB', async () => ({
    dataDir: await mkdtemp(join(tmpdir(), 'orderflow-events-')),
    mongodbUri: withDatabase(testMongodbUri ?? '', `orderflow_test_${process.pid}_${Date.now()}_${++n}`),
  }));
});

