import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../logging.js';
import { startNatsServer, type TestNatsServer } from '../testing/nats-server.js';
import { waitFor } from '../testing/wait.js';
import { runConsumer, PoisonMessageError, type ReceivedMessage } from './consumer.js';
import { DeadLetterHeader, listDeadLetters, redriveDeadLetters } from './dead-letter.js';
import { jetStreamPublisher, Header } from './envelope.js';
import { encodeMessage, Events, streamFor } from '../contracts.js';
import { dispatch, route } from './dispatch.js';
import { connectNats, deadLetterStream, ensureConsumer, ensureStream, filtersSeveralSubjects, type Nats } from './nats.js';

let server: TestNatsServer;
let nats: Nats;
let stream = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'consumer-test', logger: silentLogger() });
  await ensureStream(nats.jsm, deadLetterStream);
});

afterAll(async () => {
  await nats?.nc.drain();
  await server?.stop();
});

/** A fresh stream per test, so tests never see each other's messages. */
async function freshStream(): Promise<{ name: string; subject: string }> {
  stream++;
  const name = `TEST${stream}`;
  await ensureStream(nats.jsm, { name, subjects: [`test${stream}.>`], description: 'test' });
  return { name, subject: `test${stream}.events.Thing` };
}

function publish(subject: string, id: string, body = id) {
  return jetStreamPublisher(nats).publish({
    subject,
    id,
    type: 'orderflow.test.v1.Thing',
    data: new TextEncoder().encode(body),
    correlationId: `order-${id}`,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
}

describe('provisioning', () => {
  it('creates streams and consumers idempotently, also when replicas race', async () => {
    expect(await listDeadLetters(nats)).toEqual([]); // an empty dead-letter stream lists nothing
    const spec = { name: 'RACE', subjects: ['race.>'], description: 'race' };
    await Promise.all([ensureStream(nats.jsm, spec), ensureStream(nats.jsm, spec), ensureStream(nats.jsm, spec)]);
    await ensureStream(nats.jsm, { ...spec, subjects: ['race.>', 'race2.>'] });
    expect((await nats.jsm.streams.info('RACE')).config.subjects).toEqual(['race.>', 'race2.>']);
    await ensureConsumer(nats.jsm, 'RACE', { durable: 'd', maxDeliver: 3 });
    await ensureConsumer(nats.jsm, 'RACE', { durable: 'd', maxDeliver: 4 });
    expect((await nats.jsm.consumers.info('RACE', 'd')).config.max_deliver).toBe(4);
  });

  it('brings an existing stream without limits to the spec\'s age and size limits, and leaves it alone after', async () => {
    await nats.jsm.streams.add({ name: 'LIMITS', subjects: ['limits.>'] });
    expect((await nats.jsm.streams.info('LIMITS')).config.max_bytes).toBe(-1);
    const spec = { name: 'LIMITS', subjects: ['limits.>'], description: 'limits', maxAgeMs: 7 * 24 * 3600_000, maxBytes: 64 * 1024 ** 2 };
    await ensureStream(nats.jsm, spec);
    const applied = (await nats.jsm.streams.info('LIMITS')).config;
    expect([applied.max_age, applied.max_bytes, applied.discard]).toEqual([7 * 24 * 3600 * 1e9, 64 * 1024 ** 2, 'old']);
    await ensureStream(nats.jsm, spec);
    expect((await nats.jsm.streams.info('LIMITS')).config).toEqual(applied);
  });
});

describe('subject filters', () => {
  // nats-server 2.10+ filters a consumer on several subjects; 2.9 (the oldest we run on) on one.
  const several = () => filtersSeveralSubjects(nats);

  it('a dispatch table\'s consumer is handed only its routes\' types where the server filters on several subjects, and on 2.9 acknowledges the rest unread', async () => {
    const orders = streamFor(Events.OrderPlaced);
    await ensureStream(nats.jsm, orders);
    const handled: string[] = [];
    const handler = dispatch(
      [
        route(Events.OrderCompleted, async (e) => void handled.push(`completed ${e.orderId}`)),
        route(Events.OrderCancelled, async (e) => void handled.push(`cancelled ${e.orderId}`)),
      ],
      { ignore: (type) => type.startsWith('orderflow.') },
    );
    const consumer = await runConsumer({ nats, stream: orders.name, consumer: { durable: 'filtered' }, logger: silentLogger(), handler });
    const send = (contract: { subject: string; type: string }, id: string, value: Uint8Array) =>
      jetStreamPublisher(nats).publish({ subject: contract.subject, id, type: contract.type, data: value, correlationId: 'ord_f' });
    await send(Events.OrderPlaced, 'f1', encodeMessage(Events.OrderPlaced, Events.OrderPlaced.codec.fromPartial({ orderId: 'ord_f' })));
    await send(Events.OrderStepStarted, 'f2', encodeMessage(Events.OrderStepStarted, Events.OrderStepStarted.codec.fromPartial({ orderId: 'ord_f' })));
    await send(Events.OrderCompleted, 'f3', encodeMessage(Events.OrderCompleted, Events.OrderCompleted.codec.fromPartial({ orderId: 'ord_f' })));
    await waitFor('the completion handled and every message settled', async () => {
      const info = await nats.jsm.consumers.info(orders.name, 'filtered');
      return handled.length === 1 && info.num_pending === 0 && info.num_ack_pending === 0 && info;
    });
    const info = await nats.jsm.consumers.info(orders.name, 'filtered');
    expect(handled).toEqual(['completed ord_f']);
    if (several()) {
      expect([...(info.config.filter_subjects ?? [])].sort()).toEqual([Events.OrderCancelled.subject, Events.OrderCompleted.subject].sort());
      expect(info.delivered.consumer_seq).toBe(1); // the two other messages were never delivered
    } else {
      expect(info.config.filter_subjects ?? []).toEqual([]);
      expect(info.config.filter_subject ?? '').toBe('');
      expect(info.delivered.consumer_seq).toBe(3); // delivered, and acknowledged without work
    }
    await consumer.stop();
  });

  it('a consumer whose handler reads other subjects than before is re-filtered in place, keeping its position (2.10+), and a fixed filter is never changed', async () => {
    const { name, subject } = await freshStream();
    const other = subject.replace(/Thing$/, 'Other');
    if (several()) {
      await ensureConsumer(nats.jsm, name, { durable: 'refilter', filterSubjects: [subject] });
      expect((await nats.jsm.consumers.info(name, 'refilter')).config.filter_subject).toBe(subject);
      await publish(subject, 'r1');
      await ensureConsumer(nats.jsm, name, { durable: 'refilter', filterSubjects: [subject, other] });
      const info = await nats.jsm.consumers.info(name, 'refilter');
      expect([...(info.config.filter_subjects ?? [])].sort()).toEqual([other, subject].sort());
      expect(info.num_pending).toBe(1); // the message published before is still to be delivered
    } else {
      await ensureConsumer(nats.jsm, name, { durable: 'refilter' });
    }
    await ensureConsumer(nats.jsm, name, { durable: 'fixed', filterSubject: subject });
    await expect(ensureConsumer(nats.jsm, name, { durable: 'fixed', filterSubject: other })).rejects.toThrow(/delete the consumer to change its filter/);
  });
});

describe('runConsumer', () => {
  it('redelivers a failing message with the configured backoff, then acknowledges it', async () => {
    const { name, subject } = await freshStream();
    const deliveries: number[] = [];
    const consumer = await runConsumer({
      nats,
      stream: name,
      consumer: { durable: 'retry', maxDeliver: 5, backoffMs: [300, 700] },
      logger: silentLogger(),
      handler: async () => {
        deliveries.push(Date.now());
        if (deliveries.length < 3) throw new Error('transient');
      },
    });
    await publish(subject, 'm1');
    await waitFor('three deliveries', () => deliveries.length >= 3);
    const [first = 0, second = 0, third = 0] = deliveries;
    expect(second - first).toBeGreaterThanOrEqual(280);
    expect(third - second).toBeGreaterThanOrEqual(680);
    await waitFor('ack', async () => (await nats.jsm.consumers.info(name, 'retry')).num_ack_pending === 0);
    const info = await nats.jsm.consumers.info(name, 'retry');
    expect(info.num_pending).toBe(0);
    expect(deliveries).toHaveLength(3);
    await consumer.stop();
  });

  it('sends a message to the dead-letter stream with its headers and the error after max_deliver, and keeps serving', async () => {
    const { name, subject } = await freshStream();
    const handled: string[] = [];
    const consumer = await runConsumer({
      nats,
      stream: name,
      consumer: { durable: 'dlq', maxDeliver: 3, backoffMs: [50] },
      logger: silentLogger(),
      handler: async (m) => {
        if (m.metadata.id === 'bad') throw new Error('cannot handle bad\nat all');
        handled.push(m.metadata.id);
      },
    });
    await publish(subject, 'bad');
    await publish(subject, 'good');
    const letter = await waitFor('the dead letter', async () =>
      (await listDeadLetters(nats)).find((l) => l.stream === name),
    );
    expect(letter.error).toBe('cannot handle bad at all');
    expect(letter.deliveries).toBe(3);
    expect(letter.subject).toBe(subject);
    expect(letter.consumer).toBe('dlq');
    expect(letter.headers.get(Header.CorrelationId)).toBe('order-bad');
    expect(letter.headers.get(Header.Type)).toBe('orderflow.test.v1.Thing');
    expect(letter.headers.get(Header.Traceparent)).toMatch(/^00-/);
    expect(letter.headers.get(DeadLetterHeader.MessageId)).toBe('bad');
    expect(new TextDecoder().decode(letter.data)).toBe('bad');
    await waitFor('the good message', () => handled.includes('good'));
    await waitFor('nothing pending', async () => (await nats.jsm.consumers.info(name, 'dlq')).num_ack_pending === 0);
    await consumer.stop();
  });

  it('dead-letters a poison message on its first delivery, and redrive hands it back', async () => {
    const { name, subject } = await freshStream();
    let poisoned = true;
    const seen: ReceivedMessage[] = [];
    const consumer = await runConsumer({
      nats,
      stream: name,
      consumer: { durable: 'poison', maxDeliver: 5 },
      logger: silentLogger(),
      handler: async (m) => {
        seen.push(m);
        if (poisoned) throw new PoisonMessageError('payload does not decode');
      },
    });
    await publish(subject, 'p1');
    const letter = await waitFor('the poison dead letter', async () =>
      (await listDeadLetters(nats)).find((l) => l.stream === name),
    );
    expect(letter.deliveries).toBe(1);
    expect(letter.headers.get(DeadLetterHeader.ErrorName)).toBe('PoisonMessageError');
    poisoned = false;
    expect((await redriveDeadLetters(nats, { stream: name })).length).toBe(1);
    await waitFor('the redriven message', () => seen.length === 2);
    expect(seen[1]?.metadata.correlationId).toBe('order-p1');
    // The handler sees the message as first published, not the redrive copy.
    expect({ subject: seen[1]?.subject, seq: seen[1]?.seq, id: seen[1]?.metadata.id }).toEqual({ subject, seq: seen[0]?.seq, id: 'p1' });
    expect((await listDeadLetters(nats)).some((l) => l.stream === name)).toBe(false);
    await consumer.stop();
  });

  it('redrives to the durable that failed only, and a redriven message that fails again is dead-lettered anew', async () => {
    const { name, subject } = await freshStream();
    let failing = true;
    const byDurable: Record<string, string[]> = { failing: [], healthy: [] };
    const start = (durable: string) =>
      runConsumer({
        nats,
        stream: name,
        consumer: { durable, maxDeliver: 1 },
        logger: silentLogger(),
        handler: async (m) => {
          byDurable[durable]!.push(new TextDecoder().decode(m.data));
          if (durable === 'failing' && failing) throw new Error('downstream is broken');
        },
      });
    const consumers = [await start('failing'), await start('healthy')];
    await publish(subject, 'r1');
    const first = await waitFor('the dead letter', async () => (await listDeadLetters(nats, { filter: { stream: name } }))[0]);
    expect(first.consumer).toBe('failing');
    expect(byDurable.healthy).toEqual(['r1']);

    await redriveDeadLetters(nats, { stream: name, consumer: 'failing' });
    const again = await waitFor('the second dead letter', async () => (await listDeadLetters(nats, { filter: { stream: name } }))[0]);
    expect(again.seq).toBeGreaterThan(first.seq);
    expect({ subject: again.subject, messageId: again.messageId, orderId: again.orderId }).toEqual({ subject, messageId: 'r1', orderId: 'order-r1' });

    failing = false;
    await redriveDeadLetters(nats, { stream: name });
    await waitFor('the redriven message handled', () => byDurable.failing!.length === 3);
    await waitFor('nothing left to redrive', async () => (await nats.jsm.consumers.info('REDRIVE', `${name}-failing`)).num_ack_pending === 0);
    expect(byDurable).toEqual({ failing: ['r1', 'r1', 'r1'], healthy: ['r1'] });
    expect(await listDeadLetters(nats, { filter: { stream: name } })).toEqual([]);
    for (const c of consumers) await c.stop();
  });

  it('shares one durable between two replicas: every message handled once, by either', async () => {
    const { name, subject } = await freshStream();
    const second = await connectNats({ url: server.url, name: 'replica-2', logger: silentLogger() });
    const handledBy = new Map<string, string[]>();
    const replica = (label: string, conn: Nats) =>
      runConsumer({
        nats: conn,
        stream: name,
        consumer: { durable: 'shared' },
        logger: silentLogger(),
        batch: 8,
        handler: async (m) => {
          handledBy.set(m.metadata.id, [...(handledBy.get(m.metadata.id) ?? []), label]);
          await new Promise((resolve) => setTimeout(resolve, 2));
        },
      });
    const [a, b] = await Promise.all([replica('a', nats), replica('b', second)]);
    await Promise.all(Array.from({ length: 200 }, (_, i) => publish(subject, `m${i}`)));
    await waitFor('200 messages handled', () => handledBy.size === 200);
    await waitFor('all acknowledged', async () => (await nats.jsm.consumers.info(name, 'shared')).num_ack_pending === 0);
    const labels = [...handledBy.values()];
    expect(labels.every((l) => l.length === 1)).toBe(true);
    expect(labels.filter((l) => l[0] === 'a').length).toBeGreaterThan(0);
    expect(labels.filter((l) => l[0] === 'b').length).toBeGreaterThan(0);
    await Promise.all([a.stop(), b.stop()]);
    await second.nc.drain();
  });

  it('absorbs a duplicate publish with the same message id', async () => {
    const { name, subject } = await freshStream();
    await publish(subject, 'same');
    await publish(subject, 'same');
    expect((await nats.jsm.streams.info(name)).state.messages).toBe(1);
  });

  it('logs every handler line with the order id, message id and correlation id', async () => {
    const { name, subject } = await freshStream();
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ service: 'test', level: 'info', destination });
    const consumer = await runConsumer({
      nats,
      stream: name,
      consumer: { durable: 'logs', backoffMs: [20] },
      logger,
      handler: async (m, ctx) => {
        ctx.logger.info('handling');
        if (m.deliveryCount === 1) throw new Error('first try fails');
      },
    });
    await publish(subject, 'logged');
    await waitFor('two handler lines', () => lines.filter((l) => l.msg === 'handling').length === 2);
    const handlerLines = lines.filter((l) => l.messageId === 'logged');
    expect(handlerLines.length).toBeGreaterThanOrEqual(3); // two "handling" and the retry warning
    for (const line of handlerLines) {
      expect(line).toMatchObject({ orderId: 'order-logged', correlationId: 'order-logged', service: 'test' });
    }
    await consumer.stop();
  });

  it('stops cleanly: nothing is lost, messages not started are handled by the next replica', async () => {
    const { name, subject } = await freshStream();
    const handled = new Set<string>();
    const first = await runConsumer({
      nats,
      stream: name,
      consumer: { durable: 'stop', ackWaitMs: 2_000 },
      logger: silentLogger(),
      handler: async (m) => {
        handled.add(m.metadata.id);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    });
    await Promise.all(Array.from({ length: 50 }, (_, i) => publish(subject, `s${i}`)));
    await waitFor('some handled', () => handled.size > 5);
    await first.stop();
    const second = await runConsumer({
      nats,
      stream: name,
      consumer: { durable: 'stop', ackWaitMs: 2_000 },
      logger: silentLogger(),
      handler: async (m) => {
        handled.add(m.metadata.id);
      },
    });
    // Buffered messages are handed back at once; any the server had in flight to the stopped
    // subscription come back after the ack wait.
    await waitFor('all 50 handled', () => handled.size === 50, { timeoutMs: 8_000 });
    await second.stop();
  });
});
