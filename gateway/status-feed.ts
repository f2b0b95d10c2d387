// Order status changes, read from the ORDERS_EVENTS stream. The orders service stamps every event
// that changed an order's status with the new status and the customer (headers), so the feed reads
// headers only and never decodes or folds events. A change's cursor is its stream sequence:
// resuming after a cursor replays exactly the changes that followed it, then continues live.
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { Header } from '../services/platform/index.js';

/** The stream the orders service's events are in. */
export const orderEventsStream = 'ORDERS_EVENTS';

/** One change of an order's status. */
export interface OrderStatusChange {
  /** Opaque position in the event stream; pass it back as `after` to resume after this change. */
  cursor: string;
  orderId: string;
  customerId: string;
  /** The GraphQL OrderStatus value, e.g. `STOCK_RESERVED`. */
  status: string;
  /** The order's stream version after the change: usable as minVersion / readAfter. */
  version: number;
  occurredAt: Date;
}

/** Which changes a subscriber wants, and from where. */
export interface FeedRequest {
  /** Only this order's changes. */
  orderId?: string;
  /** Only the changes of this customer's orders. */
  customerId?: string;
  /** The first stream sequence to read; default: only what arrives from now on. */
  fromSequence?: number;
  /** Stop after a change to one of these statuses. */
  until?: ReadonlySet<string>;
  /** With orderId: stop once the order's event of this version (or a later one) has passed. */
  untilVersion?: number;
}

/** Reads a cursor back (`0` is the stream's start); undefined when it is not a cursor. */
export function parseCursor(cursor: string): number | undefined {
  return /^(0|[1-9]\d{0,15})$/.test(cursor) ? Number(cursor) : undefined;
}

const statusPrefix = 'ORDER_STATUS_';

/** The feed's iterator; `return()` releases the JetStream consumer at once. */
export type StatusFeed = AsyncIterableIterator<OrderStatusChange> & {
  return(): Promise<IteratorResult<OrderStatusChange, undefined>>;
};

/**
 * The matching status changes, oldest first. It reads through an ordered consumer (ephemeral,
 * headers only) that is deleted as soon as the iteration ends — when the subscriber leaves
 * (`return()`, even while waiting for a message), `until` or `untilVersion` is reached.
 *
 * Not an async generator: a generator's `return()` waits until the generator next yields, so a
 * subscriber who left would hold the consumer until a matching change arrived.
 */
export async function orderStatusChanges(js: JetStreamClient, request: FeedRequest): Promise<StatusFeed> {
  const position =
    request.fromSequence !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, request.fromSequence) }
      : { deliver_policy: DeliverPolicy.New };
  const consumer = await js.consumers.get(orderEventsStream, { ...position, headers_only: true });
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  const reader = messages[Symbol.asyncIterator]();
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      messages.stop();
      // An ordered consumer outlives stop() until its inactivity threshold (minutes): delete it.
      await consumer.delete().catch(() => {});
    })());
  const done = async (): Promise<IteratorResult<OrderStatusChange, undefined>> => {
    await close();
    return { done: true, value: undefined };
  };
  let finished = false;

  const changeOf = (msg: JsMsg): OrderStatusChange | 'skip' | 'end' => {
    const orderId = msg.headers?.get(Header.CorrelationId) ?? '';
    if (request.orderId !== undefined && orderId !== request.orderId) return 'skip';
    const version = Number(msg.headers?.get(Header.StreamVersion) ?? 0);
    const status = msg.headers?.get(Header.OrderStatus);
    const reached = request.untilVersion !== undefined && version >= request.untilVersion;
    if (!status) return reached ? 'end' : 'skip';
    const customerId = msg.headers?.get(Header.CustomerId) ?? '';
    if (request.customerId !== undefined && customerId !== request.customerId) return 'skip';
    const change: OrderStatusChange = {
      cursor: String(msg.seq),
      orderId,
      customerId,
      status: status.startsWith(statusPrefix) ? status.slice(statusPrefix.length) : status,
      version,
      occurredAt: new Date(msg.info.timestampNanos / 1e6),
    };
    if (reached || request.until?.has(change.status)) finished = true;
    return change;
  };

  const feed: StatusFeed = {
    async next() {
      if (finished || closed) return done();
      for (;;) {
        const read = await reader.next();
        if (read.done || closed) return done();
        const change = changeOf(read.value);
        if (change === 'end') return done();
        if (change !== 'skip') return { done: false, value: change };
      }
    },
    return: done,
    async throw(err?: unknown) {
      await close();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return feed;
    },
  };
  return feed;
}

/** An order's events are found from its OrderPlaced; this is the subject it is published on. */
const orderPlacedSubject = 'orders.events.OrderPlaced';

/**
 * The stream sequence of the order's OrderPlaced: the first event of its history. The search reads
 * only OrderPlaced headers, starting `skewMs` before `createdAt` (the orders service's clock, which
 * may differ from the broker's), and stops at `lastSequence`. An OrderPlaced not stored by then
 * is still in the outbox, so the order's whole history follows `lastSequence`.
 */
export async function placementSequence(
  js: JetStreamClient,
  request: { orderId: string; createdAt: Date; lastSequence: number; skewMs: number },
): Promise<number> {
  const fallback = request.lastSequence + 1;
  if (request.lastSequence === 0) return fallback;
  const consumer = await js.consumers.get(orderEventsStream, {
    // One subject as a string: a single filter_subject, which nats-server 2.9 understands.
    filter_subjects: orderPlacedSubject,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(request.createdAt.getTime() - request.skewMs).toISOString(),
    headers_only: true,
  });
  try {
    for (;;) {
      // A fetch ends early once the consumer has nothing pending, or after its expiry when the
      // window holds no OrderPlaced at all.
      const batch = await consumer.fetch({ max_messages: 256, expires: 1_000 });
      let read = 0;
      for await (const msg of batch) {
        read += 1;
        if (msg.seq > request.lastSequence) return fallback;
        if (msg.headers?.get(Header.CorrelationId) === request.orderId) return msg.seq;
        if (msg.info.pending === 0) return fallback;
      }
      if (read === 0) return fallback;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
}
