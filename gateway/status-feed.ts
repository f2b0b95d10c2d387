// Order status changes, read from the ORDERS_EVENTS stream. The orders service stamps every event
// that changed an order's status with the new status and the customer (headers), so the feed reads
// headers only and never decodes or folds events. A change's cursor is its stream sequence:
// resuming after a cursor replays exactly the changes that followed it, then continues live.
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
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
  /** Resume after this cursor. */
  after?: string;
  /** Without a cursor, start at this instant (earlier changes are skipped); default: now. */
  since?: Date;
  /** Stop after a change to one of these statuses. */
  until?: ReadonlySet<string>;
}

/** Reads a cursor back (`0` is the stream's start); undefined when it is not a cursor. */
export function parseCursor(cursor: string): number | undefined {
  return /^(0|[1-9]\d{0,15})$/.test(cursor) ? Number(cursor) : undefined;
}

const statusPrefix = 'ORDER_STATUS_';

/**
 * The matching status changes, oldest first, as an async iterable. It reads through an ordered
 * consumer (ephemeral, headers only) that is deleted when the iteration ends — when the
 * subscriber leaves, `until` is reached, or `signal` aborts.
 */
export async function* orderStatusChanges(js: JetStreamClient, request: FeedRequest): AsyncGenerator<OrderStatusChange> {
  const start = request.after !== undefined ? parseCursor(request.after) : undefined;
  const position =
    start !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start + 1 }
      : request.since
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: request.since.toISOString() }
        : { deliver_policy: DeliverPolicy.New };
  const consumer = await js.consumers.get(orderEventsStream, { ...position, headers_only: true });
  const messages = await consumer.consume({ max_messages: 256 });
  try {
    for await (const msg of messages) {
      const status = msg.headers?.get(Header.OrderStatus);
      if (!status) continue;
      const orderId = msg.headers?.get(Header.CorrelationId) ?? '';
      const customerId = msg.headers?.get(Header.CustomerId) ?? '';
      if (request.orderId !== undefined && orderId !== request.orderId) continue;
      if (request.customerId !== undefined && customerId !== request.customerId) continue;
      const change: OrderStatusChange = {
        cursor: String(msg.seq),
        orderId,
        customerId,
        status: status.startsWith(statusPrefix) ? status.slice(statusPrefix.length) : status,
        version: Number(msg.headers?.get(Header.StreamVersion) ?? 0),
        occurredAt: new Date(msg.info.timestampNanos / 1e6),
      };
      yield change;
      if (request.until?.has(change.status)) return;
    }
  } finally {
    messages.stop();
  }
}
