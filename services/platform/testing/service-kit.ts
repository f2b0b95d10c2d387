// What a service's integration tests share: buf curl as a user runs it, log capture, an observer
// of a service's published events, and a reliable "this consumer has handled everything".
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { decodeMessage } from '../contracts.js';
import { createLogger, silentLogger, type Logger } from '../logging.js';
import { runConsumer } from '../messaging/consumer.js';
import type { Nats } from '../messaging/nats.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const buf = new URL('../../../node_modules/.bin/buf', import.meta.url).pathname;

/** Runs `buf curl --protocol grpc --http2-prior-knowledge <args>` (reflection, plaintext), returning stdout. */
export async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await run(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], { timeout: 20_000 });
  return stdout;
}

/** A logger whose lines are kept, parsed, for assertions on what a service logged. */
export function captureLogs(service: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service, level: 'info', destination }), lines };
}

/**
 * Waits until a durable consumer has acknowledged everything its stream holds now. The ack floor
 * compared with the stream's last sequence is exact for a consumer of the whole stream; a filtered
 * consumer's floor stops at the last message it matched, so for it nothing left to deliver (read
 * after the stream's last sequence) and nothing unacknowledged is the test.
 */
export async function consumerDrained(nats: Nats, stream: string, durable: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const target = (await nats.jsm.streams.info(stream)).state.last_seq;
  await waitFor(`${stream}/${durable} to acknowledge up to ${target}`, async () => {
    const info = await nats.jsm.consumers.info(stream, durable);
    const filtered = Boolean(info.config.filter_subject || info.config.filter_subjects?.length);
    const handedOut = info.ack_floor.stream_seq >= target || (filtered && info.num_pending === 0);
    if (handedOut && info.num_ack_pending === 0) return true;
    // Thrown, not returned: waitFor takes any returned object as done.
    throw new Error(`ack floor ${info.ack_floor.stream_seq}, ${info.num_ack_pending} pending`);
  }, options);
}

/** An event read back from a stream by an observer. */
export interface Observed {
  id: string;
  /** The short type name, e.g. `PaymentCaptured`. */
  type: string;
  correlationId: string;
  causationId: string | undefined;
  data: Record<string, unknown>;
}

/** Every event of a stream, as a test sees it; `drained()` waits until it has read all of them. */
export interface EventObserver {
  readonly observed: Observed[];
  forOrder(orderId: string): Observed[];
  /** Waits until an order has at least `count` events, and returns them. */
  waitForOrder(orderId: string, count: number, timeoutMs?: number): Promise<Observed[]>;
  drained(): Promise<void>;
  stop(): Promise<void>;
}

/** Observes a stream through its own durable consumer, decoding each event by its type header. */
export async function observeEvents(nats: Nats, stream: string, durable = 'test-observer'): Promise<EventObserver> {
  const observed: Observed[] = [];
  const consumer = await runConsumer({
    nats,
    stream,
    consumer: { durable },
    logger: silentLogger(),
    handler: async (m) => {
      observed.push({
        id: m.metadata.id,
        type: m.metadata.type.split('.').at(-1) ?? m.metadata.type,
        correlationId: m.metadata.correlationId,
        causationId: m.metadata.causationId,
        data: decodeMessage(m.metadata.type, m.data) as Record<string, unknown>,
      });
    },
  });
  const forOrder = (orderId: string) => observed.filter((o) => o.correlationId === orderId);
  return {
    observed,
    forOrder,
    waitForOrder: (orderId, count, timeoutMs) =>
      waitFor(
        `${count} event(s) for ${orderId}`,
        () => {
          const found = forOrder(orderId);
          if (found.length >= count) return found;
          throw new Error(`events so far: ${found.map((o) => o.type).join(', ') || 'none'}`);
        },
        timeoutMs ? { timeoutMs } : {},
      ),
    drained: () => consumerDrained(nats, stream, durable),
    stop: () => consumer.stop(),
  };
}
