// What the bench asks of the broker itself: its ceiling on this machine (persisted publishes and
// explicit-ack consumption of small binary messages), message counts per stream, and whether
// every consumer has caught up.
import { randomBytes } from 'node:crypto';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { Nats } from '../services/platform/index.js';
import { waitFor } from '../services/platform/testing/wait.js';

/** Throughput of one side of the ceiling. */
export interface Rate {
  messages: number;
  seconds: number;
  perSecond: number;
}

export interface BrokerCeiling {
  messageBytes: number;
  window: number;
  /** Async publishes with a msgID into a file-storage stream, acks awaited window by window. */
  publish: Rate;
  /** A durable pull consumer, explicit ack of every message, until the server's ack floor reaches the end. */
  consumeAck: Rate;
}

const ceilingStream = 'BENCH_CEILING';
const rate = (messages: number, ms: number): Rate => ({ messages, seconds: ms / 1_000, perSecond: Math.round((messages * 1_000) / ms) });

export async function measureBrokerCeiling(
  nats: Nats,
  options: { messages: number; window: number; bytes: number; progress: (line: string) => void },
): Promise<BrokerCeiling> {
  const { js, jsm } = nats;
  const subject = 'bench.ceiling';
  await jsm.streams.add({
    name: ceilingStream,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: 1,
  });
  try {
    const payload = randomBytes(options.bytes);
    let lastReport = performance.now();
    const started = performance.now();
    for (let sent = 0; sent < options.messages; ) {
      const batch = Math.min(options.window, options.messages - sent);
      const acks = [];
      for (let i = 0; i < batch; i++) acks.push(js.publish(subject, payload, { msgID: `ceiling-${sent + i}` }));
      await Promise.all(acks);
      sent += batch;
      if (performance.now() - lastReport > 2_000) {
        lastReport = performance.now();
        options.progress(`  published ${sent}/${options.messages}`);
      }
    }
    const publish = rate(options.messages, performance.now() - started);
    options.progress(`  publish: ${publish.perSecond} msg/s`);

    await jsm.consumers.add(ceilingStream, { durable_name: 'ceiling', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 });
    const consumer = await js.consumers.get(ceilingStream, 'ceiling');
    const consumeStarted = performance.now();
    const messages = await consumer.consume({ max_messages: 1_000 });
    let received = 0;
    for await (const m of messages) {
      m.ack();
      if (++received === options.messages) break;
      if (performance.now() - lastReport > 2_000) {
        lastReport = performance.now();
        options.progress(`  consumed ${received}/${options.messages}`);
      }
    }
    await messages.close();
    // Acks are fire-and-forget: the ceiling counts until the server has applied all of them.
    await waitFor(
      'the ceiling consumer to be acknowledged to the end',
      async () => {
        const info = await jsm.consumers.info(ceilingStream, 'ceiling');
        // waitFor takes any object for done: the state goes into an Error, which it reports on time-out.
        if (info.ack_floor.stream_seq < options.messages) throw new Error(`ack floor at ${info.ack_floor.stream_seq}`);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    const consumeAck = rate(options.messages, performance.now() - consumeStarted);
    options.progress(`  consume+ack: ${consumeAck.perSecond} msg/s`);
    return { messageBytes: options.bytes, window: options.window, publish, consumeAck };
  } finally {
    await jsm.streams.delete(ceilingStream);
  }
}

/** Messages stored in each stream of the system. */
export async function streamCounts(nats: Nats): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const info of nats.jsm.streams.list()) {
    if (info.config.name !== ceilingStream) counts[info.config.name] = info.state.messages;
  }
  return counts;
}

/** Total of a counts record. */
export const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Waits until every consumer of every stream has nothing pending and nothing unacknowledged, and
 * no stream has grown for `stableMs` (a service's outbox may still be publishing what a handler
 * stored), so the work that trails the last order (notifications, projections) is counted with it.
 */
export async function consumersCaughtUp(nats: Nats, timeoutMs: number, stableMs = 1_000): Promise<void> {
  let last = -1;
  let stableSince = performance.now();
  await waitFor(
    'every consumer to catch up and every stream to stop growing',
    async () => {
      const behind: string[] = [];
      for await (const stream of nats.jsm.streams.list()) {
        for await (const c of nats.jsm.consumers.list(stream.config.name)) {
          if (c.num_pending > 0 || c.num_ack_pending > 0) behind.push(`${stream.config.name}/${c.name}: ${c.num_pending} pending, ${c.num_ack_pending} unacked`);
        }
      }
      const stored = total(await streamCounts(nats));
      if (stored !== last || behind.length > 0) {
        last = stored;
        stableSince = performance.now();
      }
      if (behind.length > 0) throw new Error(behind.join('; '));
      if (performance.now() - stableSince < stableMs) throw new Error(`streams hold ${stored} messages, unchanged for ${Math.round(performance.now() - stableSince)} ms`);
      return true;
    },
    { timeoutMs, intervalMs: 200 },
  );
}
