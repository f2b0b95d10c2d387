import { headers as natsHeaders, type MsgHdrs } from '@nats-io/nats-core';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { Header } from './envelope.js';
import { deadLetterStream, type Nats } from './nats.js';

/** Headers the dead-letter copy carries besides the original message's own. */
export const DeadLetterHeader = {
  Error: 'Orderflow-Dead-Letter-Error',
  ErrorName: 'Orderflow-Dead-Letter-Error-Name',
  Stream: 'Orderflow-Dead-Letter-Stream',
  Subject: 'Orderflow-Dead-Letter-Subject',
  Sequence: 'Orderflow-Dead-Letter-Sequence',
  Consumer: 'Orderflow-Dead-Letter-Consumer',
  Deliveries: 'Orderflow-Dead-Letter-Deliveries',
  MessageId: 'Orderflow-Dead-Letter-Message-Id',
} as const;

/**
 * Headers of a redriven message on `redrive.<stream>.<durable>`: what the consumer restores so its
 * handler sees the message as it first arrived (subject, stream sequence).
 */
export const RedriveHeader = {
  Subject: 'Orderflow-Redrive-Subject',
  Sequence: 'Orderflow-Redrive-Sequence',
  /** The dead letter's sequence in DEAD_LETTERS, for logs. */
  DeadLetter: 'Orderflow-Redrive-Dead-Letter',
} as const;

const strippedOnRedrive = new Set<string>([...Object.values(DeadLetterHeader), ...Object.values(RedriveHeader), Header.MessageId]);

/** The subject only the redrive consumer of `durable` on `stream` filters on. */
export const redriveSubject = (stream: string, durable: string): string => `redrive.${stream}.${durable}`;

/** Where a dead letter came from and why it failed. */
export interface DeadLetterSource {
  stream: string;
  consumer: string;
  error: unknown;
  /** The message as first published, when `m` is a redriven copy: its subject and stream sequence. */
  original?: { subject: string; seq: number };
}

/** Header values must stay on one line. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').slice(0, 2_000);

/**
 * Copies a failed message to `deadletter.<stream>.<consumer>` with every original header, the
 * original subject and sequence, the delivery count and the error. The copy's msgID is the
 * sequence in the stream the message was delivered from, so a dead-lettering repeated after a
 * crash is stored once, and a redriven copy failing again is stored anew.
 */
export async function deadLetter(js: JetStreamClient, m: JsMsg, source: DeadLetterSource): Promise<void> {
  const h = natsHeaders();
  for (const [key, values] of m.headers ?? []) {
    if (strippedOnRedrive.has(key)) continue;
    for (const value of values) h.append(key, value);
  }
  const err = source.error;
  const originalId = m.headers?.get(Header.MessageId) ?? '';
  const dlqId = `dlq:${m.info.stream}:${m.seq}`;
  h.set(Header.MessageId, dlqId);
  h.set(DeadLetterHeader.MessageId, m.headers?.get(DeadLetterHeader.MessageId) || originalId);
  h.set(DeadLetterHeader.Error, oneLine(err instanceof Error ? err.message : String(err)));
  h.set(DeadLetterHeader.ErrorName, err instanceof Error ? err.name : typeof err);
  h.set(DeadLetterHeader.Stream, source.stream);
  h.set(DeadLetterHeader.Subject, source.original?.subject ?? m.subject);
  h.set(DeadLetterHeader.Sequence, String(source.original?.seq ?? m.seq));
  h.set(DeadLetterHeader.Consumer, source.consumer);
  h.set(DeadLetterHeader.Deliveries, String(m.info.deliveryCount));
  await js.publish(`deadletter.${source.stream}.${source.consumer}`, m.data, { headers: h, msgID: dlqId });
}

/** A dead letter read back from its stream. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream: the letter's id. */
  seq: number;
  /** The subject the message was first published on. */
  subject: string;
  /** Its message type (`Orderflow-Type`). */
  type: string;
  error: string;
  errorName: string;
  /** The stream and durable consumer whose handler failed it. */
  stream: string;
  consumer: string;
  /** The order it concerns: its correlation id. */
  orderId: string;
  /** The original message id. */
  messageId: string;
  /** Deliveries before it was dead-lettered. */
  deliveries: number;
  /** When it was dead-lettered. */
  at: Date;
  data: Uint8Array;
  headers: MsgHdrs;
}

/** Which dead letters: every field set must match exactly; none set matches all. */
export interface DeadLetterFilter {
  stream?: string;
  consumer?: string;
  type?: string;
  orderId?: string;
}

/** Options of `listDeadLetters`. */
export interface ListDeadLettersOptions {
  filter?: DeadLetterFilter;
  /** Only letters with a greater sequence (the paging cursor). Default 0. */
  afterSeq?: number;
  /** At most this many. Default 1000. */
  limit?: number;
}

const matches = (letter: DeadLetter, filter: DeadLetterFilter) =>
  (!filter.stream || letter.stream === filter.stream) &&
  (!filter.consumer || letter.consumer === filter.consumer) &&
  (!filter.type || letter.type === filter.type) &&
  (!filter.orderId || letter.orderId === filter.orderId);

function toDeadLetter(seq: number, h: MsgHdrs, data: Uint8Array, at: Date): DeadLetter {
  return {
    seq,
    subject: h.get(DeadLetterHeader.Subject),
    type: h.get(Header.Type),
    error: h.get(DeadLetterHeader.Error),
    errorName: h.get(DeadLetterHeader.ErrorName),
    stream: h.get(DeadLetterHeader.Stream),
    consumer: h.get(DeadLetterHeader.Consumer),
    orderId: h.get(Header.CorrelationId),
    messageId: h.get(DeadLetterHeader.MessageId),
    deliveries: Number(h.get(DeadLetterHeader.Deliveries)),
    at,
    data,
    headers: h,
  };
}

/** One dead letter by its sequence; null when there is none (never was, or redriven). */
export async function getDeadLetter(nats: Nats, seq: number): Promise<DeadLetter | null> {
  const sm = await nats.jsm.streams.getMessage(deadLetterStream.name, { seq });
  return sm ? toDeadLetter(sm.seq, sm.header, sm.data, sm.time) : null;
}

/**
 * Lists dead letters, oldest first. The dead-letter stream is small and read by operators, so
 * this walks it by sequence (a redriven letter leaves a gap) instead of holding a consumer.
 */
export async function listDeadLetters(nats: Nats, options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
  const { filter = {}, afterSeq = 0, limit = 1_000 } = options;
  const info = await nats.jsm.streams.info(deadLetterStream.name);
  const out: DeadLetter[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = Math.max(info.state.first_seq, afterSeq + 1); seq <= info.state.last_seq && out.length < limit; seq++) {
    const letter = await getDeadLetter(nats, seq);
    if (letter && matches(letter, filter)) out.push(letter);
  }
  return out;
}

/**
 * Sends one dead letter back to the durable consumer that failed it, and to no other: it is
 * published with its original headers on `redrive.<stream>.<durable>`, which only that durable's
 * redrive consumer filters on, then deleted from the dead-letter stream. The msgID is derived
 * from the letter's sequence, so a redrive repeated after a crash between publish and delete is
 * absorbed by JetStream's de-duplication. Returns the letter, or null when there was none.
 */
export async function redriveDeadLetter(nats: Nats, seq: number): Promise<DeadLetter | null> {
  const letter = await getDeadLetter(nats, seq);
  if (!letter) return null;
  const h = natsHeaders();
  for (const [key, values] of letter.headers) {
    if (strippedOnRedrive.has(key)) continue;
    for (const value of values) h.append(key, value);
  }
  // Kept so a letter that fails again still names the id the message was first published with.
  if (letter.messageId) h.set(DeadLetterHeader.MessageId, letter.messageId);
  h.set(RedriveHeader.Subject, letter.subject);
  h.set(RedriveHeader.Sequence, letter.headers.get(DeadLetterHeader.Sequence));
  h.set(RedriveHeader.DeadLetter, String(seq));
  const id = `redrive:${seq}`;
  h.set(Header.MessageId, id);
  await nats.js.publish(redriveSubject(letter.stream, letter.consumer), letter.data, { headers: h, msgID: id });
  await nats.jsm.streams.deleteMessage(deadLetterStream.name, seq, false);
  return letter;
}

/** Redrives every dead letter the filter matches (see `redriveDeadLetter`); returns them. */
export async function redriveDeadLetters(nats: Nats, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  const redriven: DeadLetter[] = [];
  for (const letter of await listDeadLetters(nats, { filter, limit: Number.MAX_SAFE_INTEGER })) {
    if (await redriveDeadLetter(nats, letter.seq)) redriven.push(letter);
  }
  return redriven;
}

/** Dead letters held now, by the stream and durable that failed them (one stream-info call). */
export async function countDeadLetters(nats: Nats): Promise<{ stream: string; consumer: string; count: number }[]> {
  const info = await nats.jsm.streams.info(deadLetterStream.name, { subjects_filter: 'deadletter.>' });
  return Object.entries(info.state.subjects ?? {}).map(([subject, count]) => {
    const [, stream = '', ...rest] = subject.split('.');
    return { stream, consumer: rest.join('.'), count };
  });
}
