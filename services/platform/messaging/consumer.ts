import type { MsgHdrs } from '@nats-io/nats-core';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { messageLogger, type Logger } from '../logging.js';
import { counter, gauge, histogram, sampleAtScrape } from '../metrics.js';
import { SpanKind, withSpan } from '../trace.js';
import { readMetadata, type MessageMetadata } from './envelope.js';
import { deadLetter, DeadLetterHeader, RedriveHeader, redriveSubject } from './dead-letter.js';
import { streams } from '../contracts.js';
import { consumerDefaults, ensureConsumer, ensureStream, filtersSeveralSubjects, redriveStream, type ConsumerSpec, type Nats } from './nats.js';
import { redriveTwinOf } from './nats-auth.js';
import { PoisonMessageError } from './poison.js';

export { PoisonMessageError } from './poison.js';

/** A message as a handler sees it. */
export interface ReceivedMessage {
  readonly stream: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  readonly metadata: MessageMetadata;
  /** Stream sequence: unique and stable across redeliveries. */
  readonly seq: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
}

/** What a handler gets besides the message: a logger whose lines carry the message's ids. */
export interface HandlerContext {
  readonly logger: Logger;
}

/**
 * Handles one message. Resolving acknowledges it; throwing redelivers it with backoff. A handler
 * that knows the subjects it reads (a `dispatch` table) lists them in `subjects`: its consumer of
 * an event stream then filters on them where the server can (nats-server 2.10+), instead of
 * receiving every message of the stream only to acknowledge most of them unread.
 */
export interface MessageHandler {
  (message: ReceivedMessage, context: HandlerContext): Promise<void>;
  readonly subjects?: readonly string[];
}

/** Options of `runConsumer`. */
export interface RunConsumerOptions {
  nats: Nats;
  stream: string;
  consumer: ConsumerSpec;
  handler: MessageHandler;
  logger: Logger;
  /** Messages fetched per pull request. Default 64. */
  batch?: number;
  /** Messages handled at the same time by this replica. Default 1 (in stream order). */
  concurrency?: number;
  /** Finds the order id in a message, for log lines; defaults to the correlation id. */
  orderIdOf?: (message: ReceivedMessage) => string | undefined;
}

/** A consumer loop that runs until stopped. */
export interface RunningConsumer {
  readonly name: string;
  /** Stops pulling, finishes the messages in hand, hands back the ones not started. */
  stop(): Promise<void>;
  /** Settles when the loop has ended; rejects if it ended on an error. */
  readonly done: Promise<void>;
}

const delivered = counter('orderflow_consumer_delivered_total', 'Messages delivered to this process, by consumer (stream/durable)', ['consumer']);
const redelivered = counter('orderflow_consumer_redelivered_total', 'Deliveries that were not the first of their message, by consumer', ['consumer']);
const acked = counter('orderflow_consumer_acked_total', 'Messages handled and acknowledged, by consumer', ['consumer']);
const failed = counter('orderflow_consumer_failed_total', 'Handler failures that lead to a redelivery, by consumer', ['consumer']);
const deadLettered = counter(
  'orderflow_consumer_dead_lettered_total',
  'Messages moved to the dead-letter stream, by consumer and reason (poison, max_deliver)',
  ['consumer', 'reason'],
);
const handling = histogram('orderflow_consumer_handling_seconds', 'Time a handler took, by consumer and outcome (acked, failed, dead_lettered)', ['consumer', 'outcome']);
const pending = gauge('orderflow_consumer_pending_messages', 'Messages in the stream not yet delivered to the consumer (num_pending, read at scrape)', ['consumer']);
const ackPending = gauge('orderflow_consumer_ack_pending_messages', 'Messages delivered and not yet acknowledged (num_ack_pending, read at scrape)', ['consumer']);

/**
 * Runs a handler over a durable pull consumer. Every replica that runs the same durable shares
 * the work: the server hands each message to one of them. A failure is retried after the
 * consumer's backoff (negative acknowledgement with a delay); after max_deliver deliveries, or at
 * once for a PoisonMessageError, the message is copied with its headers and the error to the
 * dead-letter stream and terminated, so the consumer keeps serving.
 *
 * Redrive: nats-server 2.9 allows one subject filter per consumer, and many durables read the
 * same subjects (PAYMENTS_EVENTS feeds orders, notifications and query), so a dead letter put
 * back on its original subject would reach every one of them again. Instead each durable comes
 * with a twin on the REDRIVE stream, `<stream>-<durable>`, filtering only
 * `redrive.<stream>.<durable>`, and running the same handler. `redriveDeadLetter` publishes there,
 * so a redriven message reaches exactly the consumer that failed it, through the same retries,
 * backoff, dead-lettering, metrics and traces; the handler sees the original subject, stream
 * sequence and message id. It waits, durably, while the owning service is down.
 */
export async function runConsumer(options: RunConsumerOptions): Promise<RunningConsumer> {
  const { nats, stream, consumer: spec } = options;
  await ensureStream(nats.jsm, redriveStream);
  const filterSubjects = filtersSeveralSubjects(nats) ? handledSubjects(stream, options.handler) : undefined;
  const main = await consumeLoop(options, { stream, spec: filterSubjects ? { ...spec, filterSubjects } : spec, redrive: false });
  let twin: RunningConsumer;
  try {
    twin = await consumeLoop(options, {
      stream: redriveStream.name,
      spec: { ...spec, durable: redriveTwinOf(stream, spec.durable), filterSubject: redriveSubject(stream, spec.durable) },
      redrive: true,
    });
  } catch (err) {
    await main.stop();
    throw err;
  }
  return {
    name: main.name,
    done: Promise.all([main.done, twin.done]).then(() => undefined),
    async stop() {
      await Promise.all([main.stop(), twin.stop()]);
    },
  };
}

/**
 * The subjects of an event stream the handler reads, when it lists them. Event streams are shared
 * by every service that reads any of their types, so filtering saves most deliveries. A command
 * stream is not filtered: all its messages are for its one service, and one it has no route for
 * is dead-lettered where an operator sees it instead of lying unread in the stream.
 */
function handledSubjects(stream: string, handler: MessageHandler): string[] | undefined {
  const spec = streams.find((s) => s.name === stream);
  if (!handler.subjects || !spec || !spec.subjects.every((s) => s.includes('.events.'))) return undefined;
  const prefixes = spec.subjects.map((s) => s.replace(/>$/, ''));
  return [...new Set(handler.subjects.filter((subject) => prefixes.some((p) => subject.startsWith(p))))];
}

/** The message a redriven copy stands for: its subject, stream sequence and id as first published. */
function redrivenOriginal(m: JsMsg): { subject: string; seq: number; id: string; deadLetter: number } {
  const h = m.headers;
  return {
    subject: h?.get(RedriveHeader.Subject) || m.subject,
    seq: Number(h?.get(RedriveHeader.Sequence)) || m.seq,
    id: h?.get(DeadLetterHeader.MessageId) ?? '',
    deadLetter: Number(h?.get(RedriveHeader.DeadLetter)),
  };
}

/** What one loop reads: the consumer's own stream, or its twin on REDRIVE. */
interface LoopSource {
  stream: string;
  spec: ConsumerSpec;
  redrive: boolean;
}

/**
 * Acknowledgements sent a turn of the event loop late, all of one turn together: the client writes
 * what is queued in one go, so handlers finishing together cost one socket write, not one each.
 * An ack lost to a crash in between means a redelivery, which every handler absorbs.
 */
function ackBatcher(): { ack(m: JsMsg): void; flush(): void } {
  let pending: JsMsg[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    for (const m of batch) m.ack();
  };
  return {
    ack(m) {
      pending.push(m);
      if (pending.length === 1) setImmediate(flush);
    },
    flush,
  };
}

async function consumeLoop(options: RunConsumerOptions, source: LoopSource): Promise<RunningConsumer> {
  const { nats, logger } = options;
  const { stream, spec } = source;
  await ensureConsumer(nats.jsm, stream, spec);
  const consumer = await nats.js.consumers.get(stream, spec.durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: source.redrive ? 16 : (options.batch ?? 64) });
  const name = `${stream}/${spec.durable}`;
  const maxDeliver = spec.maxDeliver ?? consumerDefaults.maxDeliver;
  const backoff = spec.backoffMs ?? consumerDefaults.backoffMs;
  const ackWait = spec.ackWaitMs ?? consumerDefaults.ackWaitMs;
  const concurrency = source.redrive ? 1 : Math.max(1, options.concurrency ?? 1);
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  const labels = { consumer: name };
  const unsample = sampleAtScrape(async () => {
    const info = await consumer.info();
    pending.set(labels, info.num_pending);
    ackPending.set(labels, info.num_ack_pending);
  });
  const acks = ackBatcher();
  // Dead letters and the handler name the consumer that failed, also for a redriven copy.
  const owner = { stream: options.stream, durable: options.consumer.durable };

  const handle = async (m: JsMsg): Promise<void> => {
    const metadata = readMetadata(m.headers);
    const original = source.redrive ? redrivenOriginal(m) : undefined;
    const received: ReceivedMessage = {
      stream: owner.stream,
      subject: original?.subject ?? m.subject,
      data: m.data,
      headers: m.headers,
      metadata: original ? { ...metadata, id: original.id } : metadata,
      seq: original?.seq ?? m.seq,
      deliveryCount: m.info.deliveryCount,
    };
    const withIds = messageLogger(logger, {
      orderId: options.orderIdOf?.(received),
      messageId: received.metadata.id || `${owner.stream}:${received.seq}`,
      correlationId: metadata.correlationId,
      causationId: metadata.causationId,
      messageType: metadata.type,
      subject: received.subject,
    });
    const log = original ? withIds.child({ redrivenDeadLetter: original.deadLetter }) : withIds;
    delivered.inc(labels);
    if (m.info.deliveryCount > 1) redelivered.inc(labels);
    const stopTimer = handling.startTimer(labels);
    // A slow handler keeps its delivery: tell the server we are still working on it.
    const keepAlive = setInterval(() => m.working(), Math.max(1_000, ackWait / 2));
    try {
      await withSpan(
        `${received.subject} process`,
        {
          kind: SpanKind.CONSUMER,
          parent: { traceparent: metadata.traceparent },
          attributes: {
            'messaging.system': 'nats',
            'messaging.destination.name': received.subject,
            'messaging.consumer.group.name': name,
            'messaging.message.id': received.metadata.id,
            'orderflow.message_type': metadata.type,
            'orderflow.delivery_count': m.info.deliveryCount,
          },
          ...(metadata.correlationId ? { correlationId: metadata.correlationId } : {}),
          ...(received.metadata.id ? { causationId: received.metadata.id } : {}),
        },
        () => options.handler(received, { logger: log }),
      );
      acks.ack(m);
      acked.inc(labels);
      stopTimer({ outcome: 'acked' });
    } catch (err) {
      const poison = err instanceof PoisonMessageError;
      const deliveries = m.info.deliveryCount;
      if (poison || deliveries >= maxDeliver) {
        try {
          await deadLetter(nats.js, m, {
            stream: owner.stream,
            consumer: owner.durable,
            error: err,
            ...(original ? { original: { subject: original.subject, seq: original.seq } } : {}),
          });
          m.term();
          deadLettered.inc({ ...labels, reason: poison ? 'poison' : 'max_deliver' });
          stopTimer({ outcome: 'dead_lettered' });
          log.error({ err, deliveries, poison }, 'message dead-lettered');
        } catch (dlqErr) {
          // Never lose it: leave it unacknowledged-then-nak'd so it stays in the stream to redrive.
          m.nak(backoff.at(-1));
          failed.inc(labels);
          stopTimer({ outcome: 'failed' });
          log.error({ err, dlqErr, deliveries }, 'dead-letter publish failed; message left in its stream');
        }
      } else {
        const delay = backoff[Math.min(deliveries - 1, backoff.length - 1)] ?? 1_000;
        m.nak(delay);
        failed.inc(labels);
        stopTimer({ outcome: 'failed' });
        log.warn({ err, deliveries, maxDeliver, retryInMs: delay }, 'handler failed; message will be redelivered');
      }
    } finally {
      clearInterval(keepAlive);
    }
  };

  const loop = (async () => {
    for await (const m of messages) {
      if (stopping) {
        m.nak();
        continue;
      }
      const task = handle(m).catch((err: unknown) => logger.error({ err }, 'unexpected consumer failure'));
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  logger.info({ consumer: name, maxDeliver, concurrency }, 'consumer started');

  return {
    name,
    done: loop,
    async stop() {
      if (stopping) return loop;
      stopping = true;
      unsample();
      acks.flush();
      await messages.close();
      await loop;
      acks.flush(); // handlers that finished during the close
      logger.info({ consumer: name }, 'consumer stopped');
    },
  };
}
