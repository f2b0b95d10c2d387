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

const deadLetterHeaderNames = new Set<string>(Object.values(DeadLetterHeader));

/** Where a dead letter came from and why it failed. */
export interface DeadLetterSource {
  stream: string;
  consumer: string;
  error: unknown;
}

/** Header values must stay on one line. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').slice(0, 2_000);

/**
 * Copies a failed message to `deadletter.<stream>.<consumer>` with every original header, the
 * original subject and sequence, the delivery count and the error. The copy's msgID is the
 * original stream sequence, so a dead-lettering repeated after a crash is stored once.
 */
export async function deadLetter(js: JetStreamClient, m: JsMsg, source: DeadLetterSource): Promise<void> {
  const h = natsHeaders();
  for (const [key, values] of m.headers ?? []) {
    for (const value of values) h.append(key, value);
  }
  const err = source.error;
  const originalId = m.headers?.get(Header.MessageId) ?? '';
  h.set(Header.MessageId, `dlq:${source.stream}:${m.seq}`);
  h.set(DeadLetterHeader.MessageId, originalId);
  h.set(DeadLetterHeader.Error, oneLine(err instanceof Error ? err.message : String(err)));
  h.set(DeadLetterHeader.ErrorName, err instanceof Error ? err.name : typeof err);
  h.set(DeadLetterHeader.Stream, source.stream);
  h.set(DeadLetterHeader.Subject, m.subject);
  h.set(DeadLetterHeader.Sequence, String(m.seq));
  h.set(DeadLetterHeader.Consumer, source.consumer);
  h.set(DeadLetterHeader.Deliveries, String(m.info.deliveryCount));
  await js.publish(`deadletter.${source.stream}.${source.consumer}`, m.data, {
    headers: h,
    msgID: `dlq:${source.stream}:${m.seq}`,
  });
}

/** A dead letter read back from its stream. */
export interface DeadLetter {
  /** Sequence in the dead-letter stream. */
  seq: number;
  subject: string;
  error: string;
  stream: string;
  consumer: string;
  deliveries: number;
  data: Uint8Array;
  headers: MsgHdrs;
}

/** Lists dead letters, oldest first. */
export async function listDeadLetters(nats: Nats, limit = 1_000): Promise<DeadLetter[]> {
  const info = await nats.jsm.streams.info(deadLetterStream.name);
  const out: DeadLetter[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
    const sm = await nats.jsm.streams.getMessage(deadLetterStream.name, { seq });
    if (!sm) continue; // deleted (already redriven)
    const h = sm.header;
    out.push({
      seq,
      subject: h.get(DeadLetterHeader.Subject),
      error: h.get(DeadLetterHeader.Error),
      stream: h.get(DeadLetterHeader.Stream),
      consumer: h.get(DeadLetterHeader.Consumer),
      deliveries: Number(h.get(DeadLetterHeader.Deliveries)),
      data: sm.data,
      headers: h,
    });
  }
  return out;
}

/**
 * Publishes dead letters back to their original subjects (with their original headers) and
 * removes them from the dead-letter stream. The republished copy gets a new msgID derived from
 * the original one, because the original id may still sit in the stream's duplicate window.
 * Returns how many were redriven.
 */
export async function redriveDeadLetters(
  nats: Nats,
  filter: (letter: DeadLetter) => boolean = () => true,
): Promise<number> {
  let count = 0;
  for (const letter of await listDeadLetters(nats, Number.MAX_SAFE_INTEGER)) {
    if (!filter(letter)) continue;
    const h = natsHeaders();
    for (const [key, values] of letter.headers) {
      if (deadLetterHeaderNames.has(key) || key === Header.MessageId) continue;
      for (const value of values) h.append(key, value);
    }
    const originalId = letter.headers.get(DeadLetterHeader.MessageId) || `seq-${letter.seq}`;
    const id = `${originalId}:redrive:${letter.seq}`;
    h.set(Header.MessageId, id);
    await nats.js.publish(letter.subject, letter.data, { headers: h, msgID: id });
    await nats.jsm.streams.deleteMessage(deadLetterStream.name, letter.seq, false);
    count++;
  }
  return count;
}
