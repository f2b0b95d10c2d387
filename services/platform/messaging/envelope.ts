import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import { SpanKind, traceHeaders, withSpan } from '../trace.js';
import { jetStreamAcks } from './jetstream-acks.js';
import type { Nats } from './nats.js';

/** Header names every Orderflow message carries on NATS. */
export const Header = {
  /** JetStream de-duplication id: the event id or command id. */
  MessageId: 'Nats-Msg-Id',
  /** Fully qualified protobuf type of the payload, e.g. `orderflow.orders.v1.OrderPlaced`. */
  Type: 'Orderflow-Type',
  /** The business transaction the message belongs to: the order id. */
  CorrelationId: 'Orderflow-Correlation-Id',
  /** The id of the message that caused this one. */
  CausationId: 'Orderflow-Causation-Id',
  /** W3C trace context. */
  Traceparent: 'traceparent',
  /** For events: the event-store stream the event belongs to, e.g. `order-ord_123`. */
  StreamId: 'Orderflow-Stream-Id',
  /** For events: the event's 1-based version in its stream; read models guard on it. */
  StreamVersion: 'Orderflow-Stream-Version',
  /** For order events: the customer who placed the order (subscriptions filter on it). */
  CustomerId: 'Orderflow-Customer-Id',
  /** For an order event that changed the order's status: the new status, e.g. `ORDER_STATUS_COMPLETED`. */
  OrderStatus: 'Orderflow-Order-Status',
} as const;

/** A message ready to publish: binary protobuf payload plus the routing and tracing metadata. */
export interface OutgoingMessage {
  /** NATS subject, e.g. `orders.events.OrderPlaced`. */
  subject: string;
  /** Unique message id, used as JetStream msgID so duplicates are absorbed. */
  id: string;
  /** Fully qualified protobuf type name of `data`. */
  type: string;
  data: Uint8Array;
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  /** Set for events relayed from the event store. */
  streamId?: string;
  streamVersion?: number;
  /** Further headers, e.g. those an event was appended with. */
  headers?: Record<string, string>;
}

/** Metadata read back from a received message's headers. */
export interface MessageMetadata {
  id: string;
  type: string;
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  streamId?: string;
  streamVersion?: number;
}

export function messageHeaders(msg: Omit<OutgoingMessage, 'subject' | 'data'>): MsgHdrs {
  const h = natsHeaders();
  h.set(Header.MessageId, msg.id);
  h.set(Header.Type, msg.type);
  h.set(Header.CorrelationId, msg.correlationId);
  if (msg.causationId) h.set(Header.CausationId, msg.causationId);
  if (msg.traceparent) h.set(Header.Traceparent, msg.traceparent);
  if (msg.streamId) h.set(Header.StreamId, msg.streamId);
  if (msg.streamVersion !== undefined) h.set(Header.StreamVersion, String(msg.streamVersion));
  for (const [name, value] of Object.entries(msg.headers ?? {})) h.set(name, value);
  return h;
}

export function readMetadata(h: MsgHdrs | undefined): MessageMetadata {
  const get = (name: string) => h?.get(name) || undefined;
  return {
    id: get(Header.MessageId) ?? '',
    type: get(Header.Type) ?? '',
    correlationId: get(Header.CorrelationId) ?? '',
    causationId: get(Header.CausationId),
    traceparent: get(Header.Traceparent),
    streamId: get(Header.StreamId),
    streamVersion: get(Header.StreamVersion) === undefined ? undefined : Number(get(Header.StreamVersion)),
  };
}

/** Something that can put a message on JetStream; the outbox relay and handlers depend on this. */
export interface MessagePublisher {
  publish(msg: OutgoingMessage): Promise<void>;
}

/**
 * Why a publish failed, as far as the relay must care: `broker` (the connection, a timeout, no
 * responders, a server-side 5xx: retrying later helps), `message` (the message itself can never
 * go out: an invalid header or subject, a payload past max_payload, a 4xx from JetStream), or
 * `unknown` (retried, but parked once it keeps failing while other messages go through).
 * Decided by error name and status, so it holds for every copy of the NATS client.
 */
export function publishFailureKind(err: unknown): 'broker' | 'message' | 'unknown' {
  if (!(err instanceof Error)) return 'unknown';
  switch (err.name) {
    case 'InvalidArgumentError':
    case 'InvalidSubjectError':
    case 'InvalidHeaderError':
      return 'message';
    case 'ClosedConnectionError':
    case 'DrainingConnectionError':
    case 'ConnectionError':
    case 'TimeoutError':
    case 'NoResponders': // the NATS client's NoRespondersError names itself so
    case 'RequestError':
    case 'JetStreamNotEnabled':
      return 'broker';
    case 'JetStreamApiError': {
      const status = (err as Error & { status?: number }).status ?? 500;
      return status >= 400 && status < 500 ? 'message' : 'broker';
    }
    default:
      return 'unknown';
  }
}

/**
 * Publishes through JetStream with `msgID` set to the message id, so a message published twice
 * within the stream's duplicate window is stored once. Resolves when the server has persisted it;
 * the acknowledgements of every publish on the connection arrive on one subscription (jetstream-acks.ts).
 * Each publish is a producer span, child of the message's `traceparent` (the commit's append) or
 * of the active span; the message carries the publish span's context to its consumers.
 */
export function jetStreamPublisher(nats: Pick<Nats, 'nc' | 'inboxPrefix'>): MessagePublisher {
  const acks = jetStreamAcks(nats.nc, { inboxPrefix: nats.inboxPrefix });
  return {
    publish: (msg) =>
      withSpan(
        `${msg.subject} publish`,
        {
          kind: SpanKind.PRODUCER,
          parent: { traceparent: msg.traceparent },
          attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'messaging.message.id': msg.id, 'orderflow.message_type': msg.type },
          correlationId: msg.correlationId,
          ...(msg.causationId ? { causationId: msg.causationId } : {}),
        },
        async () => {
          const traceparent = traceHeaders().traceparent ?? msg.traceparent;
          await acks.publish(msg.subject, msg.data, messageHeaders({ ...msg, ...(traceparent ? { traceparent } : {}) }));
        },
      ),
  };
}

/**
 * Maps a fully qualified protobuf type name to its subject: `orderflow.<context>.v1.<Name>` of
 * kind `events` or `commands` becomes `<context>.<kind>.<Name>`.
 */
export function subjectFor(type: string, kind: 'events' | 'commands'): string {
  const parts = type.split('.');
  const name = parts.at(-1);
  const context = parts[1];
  if (parts.length !== 4 || parts[0] !== 'orderflow' || !name || !context) {
    throw new TypeError(`cannot route message type "${type}": expected orderflow.<context>.<version>.<Name>`);
  }
  return `${context}.${kind}.${name}`;
}
