// The acknowledged publisher against a real nats-server: what JetStream stores and answers, and
// each way a publish fails, named as the relay's failure kinds expect.
import { headers } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logging.js';
import { startNatsServer, type TestNatsServer } from '../testing/nats-server.js';
import { publishFailureKind } from './envelope.js';
import { jetStreamAcks } from './jetstream-acks.js';
import { connectNats, ensureStream, type Nats } from './nats.js';

let server: TestNatsServer;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'acks-test', logger: silentLogger() });
  await ensureStream(nats.jsm, { name: 'ACKS_TEST', subjects: ['acks.>'], description: 'acknowledged publisher test' });
});

afterAll(async () => {
  await nats?.nc.drain();
  await server?.stop();
});

const withId = (id: string) => {
  const h = headers();
  h.set('Nats-Msg-Id', id);
  return h;
};
const bytes = (text: string) => new TextEncoder().encode(text);
const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err as Error,
  );

describe('jetStreamAcks', () => {
  it('resolves with the stream and sequence JetStream stored each message at, and a repeated message id as a duplicate stored once', async () => {
    const acks = jetStreamAcks(nats.nc);
    const before = (await nats.jsm.streams.info('ACKS_TEST')).state.last_seq;
    const first = await acks.publish('acks.one', bytes('first'), withId('one-1'));
    const again = await acks.publish('acks.one', bytes('first'), withId('one-1'));
    expect(first).toMatchObject({ stream: 'ACKS_TEST', seq: before + 1, duplicate: false });
    expect(again).toMatchObject({ stream: 'ACKS_TEST', seq: before + 1, duplicate: true });
    expect((await nats.jsm.streams.info('ACKS_TEST')).state.last_seq).toBe(before + 1);
    const stored = await nats.jsm.streams.getMessage('ACKS_TEST', { seq: first.seq });
    expect(new TextDecoder().decode(stored!.data)).toBe('first');
  });

  it('matches each of many publishes in flight at once to its own acknowledgement', async () => {
    const acks = jetStreamAcks(nats.nc);
    const ids = Array.from({ length: 500 }, (_, i) => `many-${i}`);
    const answers = await Promise.all(ids.map((id) => acks.publish(`acks.many.${id}`, bytes(id), withId(id))));
    for (const [i, answer] of answers.entries()) {
      const stored = await nats.jsm.streams.getMessage('ACKS_TEST', { seq: answer.seq });
      expect(stored!.subject).toBe(`acks.many.${ids[i]}`);
      expect(stored!.header.get('Nats-Msg-Id')).toBe(ids[i]);
    }
    expect(new Set(answers.map((a) => a.seq)).size).toBe(ids.length);
  });

  it('is one publisher per connection', () => {
    expect(jetStreamAcks(nats.nc)).toBe(jetStreamAcks(nats.nc));
  });

  it('rejects a subject no stream takes with NoResponders, a broker failure', async () => {
    const error = await failureOf(jetStreamAcks(nats.nc).publish('nostream.here', bytes('x'), withId('nostream-1')));
    expect(error?.name).toBe('NoResponders');
    expect(publishFailureKind(error)).toBe('broker');
  });

  it('rejects a message its stream refuses with the API error and its 4xx status, a failure of the message', async () => {
    await ensureStream(nats.jsm, { name: 'ACKS_SMALL', subjects: ['small.>'], description: 'small messages only' });
    await nats.jsm.streams.update('ACKS_SMALL', { max_msg_size: 16 });
    const error = await failureOf(jetStreamAcks(nats.nc).publish('small.big', bytes('x'.repeat(64)), withId('big-1')));
    expect(error?.name).toBe('JetStreamApiError');
    expect((error as Error & { status: number }).status).toBeGreaterThanOrEqual(400);
    expect((error as Error & { status: number }).status).toBeLessThan(500);
    expect(publishFailureKind(error)).toBe('message');
  });

  it('times out when the subject is answered by nothing but a plain subscriber, and ignores an answer after that', async () => {
    const other = await connectNats({ url: server.url, name: 'acks-test-timeout', logger: silentLogger() });
    try {
      const late: string[] = [];
      other.nc.subscribe('silent.subject', {
        callback: (_err, msg) => {
          late.push(msg.reply!);
          setTimeout(() => msg.respond(bytes('{"stream":"LATE","seq":1}')), 400);
        },
      });
      await other.nc.flush();
      const acks = jetStreamAcks(other.nc, { timeoutMs: 100 });
      const started = Date.now();
      const error = await failureOf(acks.publish('silent.subject', bytes('x'), withId('silent-1')));
      expect(error?.name).toBe('TimeoutError');
      expect(publishFailureKind(error)).toBe('broker');
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(late).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the late answer arrives and is dropped
      const next = await acks.publish('acks.after-timeout', bytes('y'), withId('after-timeout-1'));
      expect(next.stream).toBe('ACKS_TEST');
    } finally {
      await other.nc.close();
    }
  });

  it('rejects what is awaited when the connection closes, and every publish after', async () => {
    const other = await connectNats({ url: server.url, name: 'acks-test-close', logger: silentLogger() });
    other.nc.subscribe('silent.close', { callback: () => undefined }); // takes the message, never answers
    await other.nc.flush();
    const acks = jetStreamAcks(other.nc, { timeoutMs: 60_000 });
    const awaited = failureOf(acks.publish('silent.close', bytes('x'), withId('close-1')));
    await other.nc.flush();
    await other.nc.close();
    expect((await awaited)?.name).toBe('ClosedConnectionError');
    expect((await failureOf(acks.publish('acks.closed', bytes('x'), withId('close-2'))))?.name).toBe('ClosedConnectionError');
  });

  it('rejects, not throws, a first publish on a draining connection', async () => {
    const other = await connectNats({ url: server.url, name: 'acks-test-drain', logger: silentLogger() });
    const drained = other.nc.drain();
    const acks = jetStreamAcks(other.nc);
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = acks.publish('acks.drain', bytes('x'), withId('drain-1'));
    }).not.toThrow();
    expect((await failureOf(result!))?.name).toMatch(/Draining|Closed/);
    await drained;
  });
});
