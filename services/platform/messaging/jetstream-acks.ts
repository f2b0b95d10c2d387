// Publishing to JetStream with every acknowledgement arriving on one subscription of the
// connection's own. The JetStream client's publish is a NATS request: a timer, a promise and a
// pending-request record each, and on every successful request the client also builds (and drops)
// an error object with its stack trace, which profiles showed at 1-3 % of a service's CPU. Here
// a publish is one NATS publish with a reply subject under one inbox, its acknowledgement is
// matched by that subject, and one interval timer, running only while acknowledgements are
// awaited, ends those that did not come in time.
import { JetStreamApiError, JetStreamError, type PubAck } from '@nats-io/jetstream';
import { createInbox, errors, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/nats-core';

/** Options of `jetStreamAcks`. */
export interface JetStreamAcksOptions {
  /** Prefix of the reply subjects: the connection's inbox prefix, which its permissions allow it to subscribe to. Default `_INBOX`. */
  inboxPrefix?: string | undefined;
  /** How long to wait for JetStream's acknowledgement. Default 5 s, the JetStream client's default. */
  timeoutMs?: number;
}

/** Publishes to JetStream over one connection, the acknowledgements on one shared subscription. */
export interface JetStreamAcks {
  /**
   * Publishes `data` to `subject` and resolves with JetStream's acknowledgement once the message
   * is stored (or recognised as a duplicate of its `Nats-Msg-Id` header). Rejects with the errors
   * the JetStream client gives for the same failures: TimeoutError, NoResponders (no stream takes
   * the subject), PermissionViolationError, JetStreamApiError (the stream refused the message,
   * with its status), ClosedConnectionError and the publish's own argument errors.
   */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck>;
}

interface Awaited {
  subject: string;
  deadline: number;
  resolve: (ack: PubAck) => void;
  reject: (error: unknown) => void;
}

const decoder = new TextDecoder();
const byConnection = new WeakMap<NatsConnection, JetStreamAcks>();

/** The connection's acknowledged publisher: one per connection, however often it is asked for (the first call's options hold). */
export function jetStreamAcks(nc: NatsConnection, options: JetStreamAcksOptions = {}): JetStreamAcks {
  let acks = byConnection.get(nc);
  if (acks === undefined) {
    acks = new SharedInboxAcks(nc, options.inboxPrefix ?? '_INBOX', options.timeoutMs ?? 5_000);
    byConnection.set(nc, acks);
  }
  return acks;
}

class SharedInboxAcks implements JetStreamAcks {
  /** Reply subject → the publish awaiting it, in the order published (and so of deadline). */
  readonly #awaited = new Map<string, Awaited>();
  #inbox: string | undefined;
  #subscription: Subscription | undefined;
  #sequence = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly inboxPrefix: string,
    private readonly timeoutMs: number,
  ) {
    // A publish after the close is refused by the connection itself (ClosedConnectionError).
    void nc.closed().then(() => this.#failAll(() => new errors.ClosedConnectionError()));
    void this.#watchPermissions();
  }

  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck> {
    return new Promise<PubAck>((resolve, reject) => {
      let reply: string | undefined;
      try {
        // Subscribing (at the first publish) fails like publishing on a draining or closed connection.
        reply = `${this.#replies()}.${(this.#sequence++).toString(36)}`;
        this.#awaited.set(reply, { subject, deadline: Date.now() + this.timeoutMs, resolve, reject });
        this.nc.publish(subject, data, { reply, headers });
      } catch (error) {
        if (reply !== undefined) this.#awaited.delete(reply);
        reject(error);
        return;
      }
      this.#timer ??= setInterval(() => this.#expire(), Math.max(10, Math.min(250, this.timeoutMs / 4))).unref();
    });
  }

  /** The inbox the replies go to, subscribed at the first publish and again after the subscription ended. */
  #replies(): string {
    if (this.#subscription === undefined || this.#subscription.isClosed()) {
      this.#inbox = createInbox(this.inboxPrefix);
      this.#subscription = this.nc.subscribe(`${this.#inbox}.*`, { callback: (error, msg) => this.#received(error, msg) });
    }
    return this.#inbox!;
  }

  #received(error: Error | null, msg: Msg): void {
    if (error) {
      // The subscription itself failed (e.g. its permission was refused): nothing awaited can be answered.
      this.#subscription = undefined;
      this.#failAll(() => error);
      return;
    }
    const awaited = this.#awaited.get(msg.subject);
    if (awaited === undefined) return; // answered after its deadline
    this.#awaited.delete(msg.subject);
    try {
      awaited.resolve(pubAckOf(msg, awaited.subject));
    } catch (failure) {
      awaited.reject(failure);
    }
    this.#stopTimerWhenIdle();
  }

  #expire(): void {
    const now = Date.now();
    for (const [reply, awaited] of this.#awaited) {
      if (awaited.deadline > now) break; // later ones were published later
      this.#awaited.delete(reply);
      awaited.reject(new errors.TimeoutError());
    }
    this.#stopTimerWhenIdle();
  }

  #stopTimerWhenIdle(): void {
    if (this.#awaited.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A publish the server refused for permissions fails at once, as it does with the JetStream client. */
  async #watchPermissions(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'error' || !(status.error instanceof errors.PermissionViolationError)) continue;
      const refused = status.error;
      if (refused.operation !== 'publish') continue;
      for (const [reply, awaited] of this.#awaited) {
        if (awaited.subject !== refused.subject) continue;
        this.#awaited.delete(reply);
        awaited.reject(refused);
      }
      this.#stopTimerWhenIdle();
    }
  }

  #failAll(error: () => unknown): void {
    const all = [...this.#awaited.values()];
    this.#awaited.clear();
    for (const awaited of all) awaited.reject(error());
    this.#stopTimerWhenIdle();
  }
}

/** JetStream's answer to a publish, or the error it stands for. */
function pubAckOf(msg: Msg, subject: string): PubAck {
  const status = msg.headers?.code ?? 0;
  if (msg.data.length === 0) {
    if (status === 503) throw new errors.NoRespondersError(subject);
    throw new JetStreamApiError({ code: status || 500, err_code: 0, description: msg.headers?.description || 'empty acknowledgement' });
  }
  const answer = JSON.parse(decoder.decode(msg.data)) as Partial<PubAck> & { error?: { code: number; err_code: number; description: string } };
  if (answer.error) throw new JetStreamApiError(answer.error);
  if (typeof answer.stream !== 'string' || answer.stream === '' || typeof answer.seq !== 'number') {
    throw new JetStreamError('invalid ack response');
  }
  return { ...answer, duplicate: answer.duplicate ?? false } as PubAck;
}
