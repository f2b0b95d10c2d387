import { connect } from '@nats-io/transport-node';
import { PermissionViolationError, type NatsConnection } from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { Logger } from '../logging.js';
import { natsAuthenticator, type NatsClientCredentials } from './nats-auth.js';

export type { NatsConnection } from '@nats-io/nats-core';
export type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';

const ms = (millis: number) => millis * 1_000_000;
/** JetStream API error code for "stream name already in use" (a concurrent replica created it). */
const streamNameInUse = 10058;

/** One NATS connection per process, with its JetStream client and manager. */
export interface Nats {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Prefix of the connection's reply subjects (`_INBOX` unless one was given). */
  readonly inboxPrefix: string;
}

/** Options of `connectNats`. */
export interface ConnectNatsOptions {
  /** `nats://host:port`, or several separated by commas. */
  url: string;
  /** Connection name shown by the server's monitoring (the service and instance). */
  name: string;
  logger: Logger;
  /** Reconnect forever by default: a broker restart must not end the service. */
  maxReconnectAttempts?: number;
  /** The user to connect as; none connects anonymously (a server with users refuses that). */
  credentials?: NatsClientCredentials | undefined;
  /**
   * Prefix of reply subjects, `_INBOX_<service>` for a service, so its permissions can let it
   * subscribe to its own replies only. Default `_INBOX`.
   */
  inboxPrefix?: string | undefined;
}

/**
 * Connects once for the whole process. Reconnects are logged, so an operator sees the broker
 * going away and coming back in the service's own log.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<Nats> {
  const nc = await connect({
    servers: options.url.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    reconnectTimeWait: 500,
    // Every request would otherwise capture a stack trace up front, in case it fails: a cost on
    // each JetStream publish. Our own logs name the operation that failed.
    noAsyncTraces: true,
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    ...(natsAuthenticator(options.credentials) ? { authenticator: natsAuthenticator(options.credentials)! } : {}),
  });
  options.logger.info({ server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        // An error status carries what the server refused, e.g. a permissions violation.
        const error = status.type === 'error' ? String(status.error) : undefined;
        options.logger.warn({ natsStatus: status.type, server: 'server' in status ? status.server : undefined, error }, 'NATS connection status');
      }
    }
  })();
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm, inboxPrefix: options.inboxPrefix ?? '_INBOX' };
}

/** A stream to provision: its name, subjects, and retention knobs. */
export interface StreamSpec {
  name: string;
  subjects: string[];
  description: string;
  /** Window within which a repeated `Nats-Msg-Id` is dropped. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** How long messages are kept; older ones are dropped (`discard: old`). Default 30 days. */
  maxAgeMs?: number;
  /** Most bytes the stream keeps; the oldest messages go first when full. Default 1 GiB. */
  maxBytes?: number;
}

/** The limits a StreamSpec gets when it names none: 30 days, 1 GiB. */
export const streamLimitDefaults = { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 1024 ** 3 } as const;

/** The stream that holds messages whose handler kept failing, with their headers and the error. */
export const deadLetterStream: StreamSpec = {
  name: 'DEAD_LETTERS',
  subjects: ['deadletter.>'],
  description: 'Messages whose handler failed max_deliver times or that could not be decoded',
  // Kept long enough for an operator to look and redrive, bounded so a poison flood cannot fill the disk.
  maxAgeMs: 90 * 24 * 3600_000,
  maxBytes: 256 * 1024 ** 2,
};

/** The stream is missing and this user may not create it: the admin has not provisioned it. */
export class StreamNotProvisionedError extends Error {
  readonly code = 'STREAM_NOT_PROVISIONED';
  constructor(readonly stream: string, cause: unknown) {
    super(`stream ${stream} does not exist and this NATS user may not create it; provision the streams as the admin user first (npm run nats:provision)`, { cause });
    this.name = 'StreamNotProvisionedError';
  }
}

/**
 * Dead letters an operator sends back, each on `redrive.<stream>.<durable>`: a subject only the
 * redrive consumer of that one durable filters on (see `runConsumer`), so a redriven message
 * reaches the consumer that failed it and no other consumer of its original subject.
 */
export const redriveStream: StreamSpec = {
  name: 'REDRIVE',
  subjects: ['redrive.>'],
  description: 'Dead letters sent back to the one durable consumer that failed them',
};

/**
 * Creates the stream, or brings an existing one to the spec. Safe to call from every replica at
 * every start-up: a concurrent creator's "already in use" is treated as success. A user that may
 * not create or update streams (every service, when NATS has users) only checks: a stream that
 * differs from the spec is kept as the admin provisioned it, and reported to `onDrift`; a missing
 * one throws StreamNotProvisionedError.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, onDrift?: (message: string) => void): Promise<void> {
  try {
    await provisionStream(jsm, spec);
  } catch (err) {
    if (!(err instanceof PermissionViolationError) && !(err instanceof Error && err.cause instanceof PermissionViolationError)) throw err;
    if (!(await streamInfo(jsm, spec.name))) throw new StreamNotProvisionedError(spec.name, err);
    onDrift?.(`stream ${spec.name} differs from this process's spec (subjects or limits); kept as provisioned, as this NATS user may not update streams`);
  }
}

async function provisionStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    description: spec.description,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: ms(spec.duplicateWindowMs ?? 120_000),
    max_age: ms(spec.maxAgeMs ?? streamLimitDefaults.maxAgeMs),
    max_bytes: spec.maxBytes ?? streamLimitDefaults.maxBytes,
    num_replicas: 1,
  };
  const existing = await streamInfo(jsm, spec.name);
  if (!existing) {
    try {
      await jsm.streams.add(config);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== streamNameInUse) throw err;
    }
  }
  const current = existing ?? (await jsm.streams.info(spec.name)).config;
  const same =
    sameSet(current.subjects ?? [], spec.subjects) &&
    current.duplicate_window === config.duplicate_window &&
    current.max_age === config.max_age &&
    current.max_bytes === config.max_bytes &&
    current.discard === config.discard &&
    (current.description ?? '') === spec.description;
  if (!same) await jsm.streams.update(spec.name, { ...current, ...config });
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamConfig | null> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null;
    throw err;
  }
}

/** A durable pull consumer shared by every replica of a service. */
export interface ConsumerSpec {
  /** Durable name, e.g. `payments-commands`. Replicas using the same name share the work. */
  durable: string;
  /** One subject filter, fixed once the consumer exists (nats-server 2.9 supports a single one). */
  filterSubject?: string;
  /**
   * The subjects the consumer's handler reads, when the server filters on several (nats-server
   * 2.10+): the consumer is created with them, or updated to them when its handler changed. The
   * server then delivers nothing the handler would only acknowledge. Ignored with `filterSubject`.
   */
  filterSubjects?: readonly string[];
  /** Deliveries before the message goes to the dead-letter stream. Default 5. */
  maxDeliver?: number;
  /** Delay before each redelivery after a failure; the last entry repeats. Default 200ms, 1s, 5s, 15s. */
  backoffMs?: number[];
  /**
   * How long a delivery may stay unacknowledged before the server redelivers it (to another
   * replica, when this one died). Default 5s; a handler still working keeps its delivery alive.
   */
  ackWaitMs?: number;
  /** Unacknowledged messages in flight across all replicas. Default 1000. */
  maxAckPending?: number;
}

export const consumerDefaults = {
  maxDeliver: 5,
  backoffMs: [200, 1_000, 5_000, 15_000],
  ackWaitMs: 5_000,
  maxAckPending: 1_000,
} as const;

/** Creates the durable consumer, or updates its editable settings. Idempotent like `ensureStream`. */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, spec: ConsumerSpec): Promise<void> {
  const wanted = spec.filterSubject ? [spec.filterSubject] : [...(spec.filterSubjects ?? [])].sort();
  const filters = (subjects: string[]): Partial<ConsumerConfig> =>
    subjects.length === 1 ? { filter_subject: subjects[0]! } : subjects.length > 1 ? { filter_subjects: subjects } : {};
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ms(spec.ackWaitMs ?? consumerDefaults.ackWaitMs),
    max_deliver: spec.maxDeliver ?? consumerDefaults.maxDeliver,
    max_ack_pending: spec.maxAckPending ?? consumerDefaults.maxAckPending,
    ...filters(wanted),
  };
  let current: ConsumerConfig | null = null;
  try {
    current = (await jsm.consumers.info(stream, spec.durable)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound) throw err;
  }
  if (!current) {
    await jsm.consumers.add(stream, config);
    return;
  }
  const filtering = current.filter_subjects?.length ? [...current.filter_subjects].sort() : current.filter_subject ? [current.filter_subject] : [];
  const refilter = filtering.join(' ') !== wanted.join(' ');
  if (refilter && (spec.filterSubject !== undefined || spec.filterSubjects === undefined)) {
    throw new Error(
      `consumer ${stream}/${spec.durable} filters "${filtering.join(' ')}" but "${wanted.join(' ')}" is wanted; ` +
        'delete the consumer to change its filter',
    );
  }
  const changed =
    refilter ||
    current.ack_wait !== config.ack_wait ||
    current.max_deliver !== config.max_deliver ||
    current.max_ack_pending !== config.max_ack_pending;
  if (changed) {
    await jsm.consumers.update(stream, spec.durable, {
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      max_ack_pending: config.max_ack_pending,
      // Unset keys are dropped from the request: the filter the consumer had is replaced.
      ...(refilter ? { filter_subject: undefined, filter_subjects: undefined, ...filters(wanted) } : {}),
    });
  }
}

/** True when the connected nats-server filters a consumer on several subjects (2.10 and later). */
export function filtersSeveralSubjects(nats: Nats): boolean {
  const [major = 0, minor = 0] = (nats.nc.info?.version ?? '0.0.0').split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
