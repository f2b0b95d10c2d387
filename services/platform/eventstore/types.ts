/** An event to append: its protobuf type and encoded payload. */
export interface NewEvent {
  /** Fully qualified protobuf type, e.g. `orderflow.orders.v1.OrderPlaced`. */
  type: string;
  data: Uint8Array;
  /** Unique event id, used as the JetStream msgID. Default: a random UUID. */
  id?: string;
  /** Subject to publish on. Default: `subjectFor(type, 'events')`. */
  subject?: string;
  /**
   * Extra NATS headers published with the event: facts a subscriber filters on without decoding
   * the payload (the orders service puts the order's customer and new status here).
   */
  headers?: Record<string, string>;
}

/**
 * A message that must leave together with the events, such as the command a saga step sends.
 * It rides in the same commit document, so it is published if and only if the events are stored.
 */
export interface NewMessage {
  id: string;
  type: string;
  subject: string;
  data: Uint8Array;
  /**
   * The payload is a secret needed only in flight (ChargePayment's card token): the relay blanks
   * the commit's stored copy as soon as it is published, so it does not stay at rest. Default false.
   */
  sensitive?: boolean;
}

/** The expected version of a stream: a number (0 = no stream yet), or `any` to append at the head. */
export type ExpectedVersion = number | 'any';

/** Options of `append`. */
export interface AppendOptions {
  /** Correlation id carried by every published message; default the stream id. */
  correlationId?: string;
  /** Id of the message that caused this append. */
  causationId?: string;
  traceparent?: string;
  /** Messages published with the events (commands, replies). */
  messages?: NewMessage[];
  /** Commit time; defaults to now. Deciders get time as a parameter, so tests pass it in. */
  now?: Date;
}

/** An event as stored and read back. */
export interface StoredEvent {
  id: string;
  streamId: string;
  /** 1-based position in its stream. */
  version: number;
  type: string;
  subject: string;
  data: Uint8Array;
  committedAt: Date;
  correlationId: string;
  causationId?: string;
}

/** What an append wrote. */
export interface AppendResult {
  streamId: string;
  commitId: string;
  /** The stream's version after the append: the version of its last event. */
  version: number;
  events: StoredEvent[];
}

/** The commit document: one per append, and the outbox record for the relay. */
export interface CommitDocument {
  [key: string]: unknown;
  /** `<streamId>@<firstVersion>`: unique, so two appends at one version cannot both commit. */
  _id: string;
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  events: { id: string; type: string; subject: string; data: string; headers?: Record<string, string> }[];
  /** `sensitive` ones have `data` blanked and `scrubbed` set once published. */
  messages: { id: string; type: string; subject: string; data: string; sensitive?: boolean; scrubbed?: boolean }[];
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  committedAt: Date;
  published: boolean;
  publishedAt?: Date;
  /** Set when the relay gave up on the commit: it stays unpublished and out of the sweep until retried. */
  parked?: ParkedCommit;
}

/** Why and when the relay parked a commit. */
export interface ParkedCommit {
  /** The publish error, or which earlier parked commit of the stream holds this one back. */
  error: string;
  at: Date;
  /** Publish attempts made before parking; 0 for a commit parked behind an earlier one. */
  attempts: number;
  /** The earlier commit of the same stream that is parked; set when this one was never tried. */
  blockedBy?: string;
}
