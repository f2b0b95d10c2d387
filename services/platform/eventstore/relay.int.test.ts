// The outbox relay against a real nats-server: a commit that can never be published is parked and
// reported while the rest flow, and each stream's events reach JetStream in version order.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logging.js';
import { jetStreamPublisher, type MessagePublisher, type OutgoingMessage } from '../messaging/envelope.js';
import { connectNats, ensureStream, type Nats } from '../messaging/nats.js';
import { openDocumentStore, type DocumentStore } from '../storage/index.js';
import { startNatsServer, type TestNatsServer } from '../testing/nats-server.js';
import { waitFor } from '../testing/wait.js';
import { createEventStore, type EventStore } from './event-store.js';
import type { CommitDocument } from './types.js';

const thing = (id: string, headers?: Record<string, string>) => ({
  type: 'orderflow.test.v1.ThingHappened',
  data: new TextEncoder().encode(id),
  id,
  ...(headers ? { headers } : {}),
});

let server: TestNatsServer;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'relay-test', logger: silentLogger() });
});

afterAll(async () => {
  await nats?.nc.drain();
  await server?.stop();
});

/** Every message id in TEST_EVENTS, in stream order. */
async function publishedIds(): Promise<string[]> {
  const info = await nats.jsm.streams.info('TEST_EVENTS');
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await nats.jsm.streams.getMessage('TEST_EVENTS', { seq });
    if (m) ids.push(m.header.get('Nats-Msg-Id'));
  }
  return ids;
}

/** A publisher in front of the real one that fails the messages `fail` picks, with the error it returns. */
function faulty(fail: (m: OutgoingMessage) => Error | undefined): MessagePublisher {
  const real = jetStreamPublisher(nats);
  return {
    async publish(m) {
      const err = fail(m);
      if (err) throw err;
      await real.publish(m);
    },
  };
}

const namedError = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('the outbox relay', () => {
  let dataDir: string;
  let store: DocumentStore;
  const opened: EventStore[] = [];
  const commits = () => store.collection<CommitDocument>('commits');

  const open = async (publisher: MessagePublisher | undefined = jetStreamPublisher(nats)) => {
    const events = createEventStore({ store, logger: silentLogger(), publisher, relay: { sweepIntervalMs: 60_000, retryDelayMs: 20, maxAttempts: 3 } });
    await events.start();
    opened.push(events);
    return events;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'orderflow-relay-'));
    store = await openDocumentStore({ dataDir });
    await nats.jsm.streams.delete('TEST_EVENTS').catch(() => undefined);
    await ensureStream(nats.jsm, { name: 'TEST_EVENTS', subjects: ['test.events.>'], description: 'relay test events' });
    return async () => {
      for (const events of opened.splice(0)) await events.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    };
  });

  it('parks a commit the broker refuses, with the later commits of its stream, and publishes the other streams', async () => {
    const events = await open();
    await events.append('bad', 0, [thing('bad:1', { 'Orderflow-Customer-Id': 'evil\nX' })]);
    await events.append('bad', 1, [thing('bad:2')]);
    for (let i = 0; i < 5; i++) await events.append(`good-${i}`, 0, [thing(`good-${i}:1`)]);
    await events.relay!.flushed();

    expect(new Set(await publishedIds())).toEqual(new Set(Array.from({ length: 5 }, (_, i) => `good-${i}:1`)));
    expect(events.relay!.stats.parked).toBe(2);
    const parked = await events.relay!.parked();
    expect(parked.map((p) => p.commitId)).toEqual(['bad@1', 'bad@2']);
    expect(parked[0]!.parked).toMatchObject({ attempts: 1, error: expect.stringContaining('header') });
    expect(parked[1]!.parked).toMatchObject({ blockedBy: 'bad@1' });
    expect(await commits().countDocuments({ published: false, parked: { $exists: false } })).toBe(0);
  });

  it('starts with a parked and an unpublishable commit present, and keeps publishing after the restart', async () => {
    const offline = await open(undefined); // no publisher: the commits wait for the next start-up sweep
    await offline.append('bad', 0, [thing('bad:1', { 'Orderflow-Customer-Id': 'evil\nX' })]);
    await offline.append('early', 0, [thing('early:1')]);
    await offline.close();

    const first = await open();
    await first.append('later', 0, [thing('later:1')]);
    await first.relay!.flushed();
    expect(new Set(await publishedIds())).toEqual(new Set(['early:1', 'later:1']));
    expect((await first.relay!.parked()).map((p) => p.commitId)).toEqual(['bad@1']);
    await first.close();

    const second = await open(); // a new relay on the same store: the parked commit does not stop it
    await second.append('bad', 1, [thing('bad:2')]); // behind the parked commit of its stream
    await second.append('after-restart', 0, [thing('after-restart:1')]);
    await second.relay!.flushed();
    expect(new Set(await publishedIds())).toEqual(new Set(['early:1', 'later:1', 'after-restart:1']));
    expect((await second.relay!.parked()).map((p) => p.commitId)).toEqual(['bad@1', 'bad@2']);
  });

  it('publishes a repaired parked commit, and the ones parked behind it, in version order on retryParked', async () => {
    const events = await open();
    await events.append('bad', 0, [thing('bad:1', { 'Orderflow-Customer-Id': 'evil\nX' })]);
    await events.append('bad', 1, [thing('bad:2')]);
    await events.relay!.flushed();
    expect(await events.relay!.retryParked('bad@1')).toEqual({ published: [], parked: ['bad@1', 'bad@2'] }); // still broken

    // An operator repairs the header in the store, then retries.
    await commits().updateOne({ _id: 'bad@1' }, { $set: { 'events.0.headers': { 'Orderflow-Customer-Id': 'evil X' } } });
    expect(await events.relay!.retryParked('bad@1')).toEqual({ published: ['bad@1', 'bad@2'], parked: [] });
    expect(await publishedIds()).toEqual(['bad:1', 'bad:2']);
    expect(await events.relay!.parked()).toEqual([]);
    expect(await commits().countDocuments({ published: false })).toBe(0);
  });

  it('parks a commit whose publish keeps failing while the others succeed', async () => {
    const events = await open(faulty((m) => (m.id === 'odd:1' ? new Error('something about this message') : undefined)));
    await events.append('odd', 0, [thing('odd:1')]);
    for (let i = 0; i < 3; i++) await events.append(`good-${i}`, 0, [thing(`good-${i}:1`)]);
    await waitFor('the odd commit to be parked', async () => (await events.relay!.parked()).length === 1);
    await events.relay!.flushed();
    expect((await events.relay!.parked())[0]).toMatchObject({ commitId: 'odd@1', parked: { attempts: 3 } });
    expect(new Set(await publishedIds())).toEqual(new Set(['good-0:1', 'good-1:1', 'good-2:1']));
  });

  it('retries, and never parks, while the broker is unreachable', async () => {
    let outage = 6;
    const events = await open(faulty(() => (outage-- > 0 ? namedError('ClosedConnectionError', 'closed connection') : undefined)));
    await events.append('a', 0, [thing('a:1')]);
    await events.append('b', 0, [thing('b:1')]);
    await events.relay!.flushed();
    expect(events.relay!.stats.parked).toBe(0);
    expect(new Set(await publishedIds())).toEqual(new Set(['a:1', 'b:1']));
  });

  it('marks published commits later, together: one mark write for commits published apart, all marked once flushed', async () => {
    // The relay's commits collection, counting the writes that mark commits published.
    let markWrites = 0;
    const bound = (value: unknown, self: object) => (typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(self) : value);
    const counted = new Proxy(store, {
      get(target, prop) {
        if (prop !== 'collection') return bound(Reflect.get(target, prop), target);
        return (name: string) => {
          const collection = target.collection<CommitDocument>(name);
          return new Proxy(collection, {
            get(c, method) {
              const value = bound(Reflect.get(c, method), c);
              if (method !== 'updateOne' && method !== 'updateMany') return value;
              return (...args: unknown[]) => {
                if (JSON.stringify(args[1]).includes('"published":true')) markWrites++;
                return (value as (...a: unknown[]) => unknown)(...args);
              };
            },
          });
        };
      },
    });
    // A mark delay far longer than the test: only flushed() writes the marks.
    const events = createEventStore({ store: counted, logger: silentLogger(), publisher: jetStreamPublisher(nats), relay: { sweepIntervalMs: 60_000, markDelayMs: 60_000 } });
    await events.start();
    opened.push(events);

    await events.append('first', 0, [thing('first:1')]);
    await waitFor('the first commit on the broker', async () => (await publishedIds()).length === 1);
    for (let i = 0; i < 3; i++) await events.append(`next-${i}`, 0, [thing(`next-${i}:1`)]);
    await waitFor('every commit on the broker', async () => (await publishedIds()).length === 4);
    expect(await commits().countDocuments({ published: false })).toBe(4);
    expect(markWrites).toBe(0);

    await events.relay!.flushed();
    expect(await commits().countDocuments({ published: true })).toBe(4);
    expect(markWrites).toBe(1);
  });

  it('publishes one stream in version order when an earlier commit of a batch failed and is retried', async () => {
    const offline = await open(undefined); // the start-up sweep takes all three commits in one batch
    await offline.append('s', 0, [thing('s:1')]);
    await offline.append('other', 0, [thing('other:1')]);
    await offline.append('s', 1, [thing('s:2'), thing('s:3')]);
    await offline.close();
    let timeouts = 2;
    const events = await open(faulty((m) => (m.id === 's:1' && timeouts-- > 0 ? namedError('TimeoutError', 'timeout') : undefined)));
    await waitFor('every commit to be published', async () => (await commits().countDocuments({ published: false })) === 0);
    expect((await publishedIds()).filter((id) => id.startsWith('s:'))).toEqual(['s:1', 's:2', 's:3']);
    expect(events.relay!.stats.parked).toBe(0);
  });
});
