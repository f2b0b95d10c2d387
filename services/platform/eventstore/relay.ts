import type { Logger } from '../logging.js';
import { counter, histogram } from '../metrics.js';
import type { MessagePublisher, OutgoingMessage } from '../messaging/envelope.js';
import type { Collection } from '../storage/index.js';
import type { CommitDocument, ParkedCommit } from './types.js';

/** Options of the outbox relay. */
export interface RelayOptions {
  /** Commits published per round. Default 256. */
  batchSize?: number;
  /** How often the slow sweep looks for commits another process left unpublished. Default 30s. */
  sweepIntervalMs?: number;
  /** A commit must be this old before the slow sweep takes it from its own writer. Default 10s. */
  sweepMinAgeMs?: number;
  /** Wait before retrying after the broker failed. Default 1s. */
  retryDelayMs?: number;
}

/** Relay progress, for logs and tests. */
export interface RelayStats {
  commitsPublished: number;
  messagesPublished: number;
  swept: number;
}

const publishLatency = histogram(
  'orderflow_outbox_publish_latency_seconds',
  'Time from a commit to its being published and marked so, per commit',
  [],
  [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
);
const publishedCommits = counter('orderflow_outbox_published_commits_total', 'Commits the relay published');
const publishFailures = counter('orderflow_outbox_publish_failures_total', 'Relay rounds that failed to publish (retried)');

const decode = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

/** The messages one commit puts on the broker, events first, in stream order. */
export function commitMessages(commit: CommitDocument): OutgoingMessage[] {
  const meta = {
    correlationId: commit.correlationId,
    ...(commit.causationId ? { causationId: commit.causationId } : {}),
    ...(commit.traceparent ? { traceparent: commit.traceparent } : {}),
  };
  const events = commit.events.map((e, i) => ({
    subject: e.subject,
    id: e.id,
    type: e.type,
    data: decode(e.data),
    streamId: commit.streamId,
    streamVersion: commit.firstVersion + i,
    ...(e.headers ? { headers: e.headers } : {}),
    ...meta,
  }));
  const messages = commit.messages.map((m) => ({ subject: m.subject, id: m.id, type: m.type, data: decode(m.data), ...meta }));
  return [...events, ...messages];
}

/**
 * Publishes commits to JetStream and marks them published. It is push-driven: `notify` wakes it
 * right after an append, so there is no polling on the hot path. Every message goes out with
 * msgID = its id, so publishing a commit again (after a crash between publish and mark, or by
 * two sweeping replicas) is absorbed by JetStream's de-duplication.
 *
 * At start it sweeps every unpublished commit, whatever its age (a crash left it); afterwards a
 * slow sweep takes commits older than `sweepMinAgeMs` that another process left behind.
 */
export class OutboxRelay {
  readonly stats: RelayStats = { commitsPublished: 0, messagesPublished: 0, swept: 0 };
  readonly #queue: CommitDocument[] = [];
  readonly #options: Required<RelayOptions>;
  #running: Promise<void> | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #idle: (() => void)[] = [];

  constructor(
    private readonly commits: Collection<CommitDocument>,
    private readonly publisher: MessagePublisher,
    private readonly logger: Logger,
    options: RelayOptions = {},
  ) {
    this.#options = {
      batchSize: options.batchSize ?? 256,
      sweepIntervalMs: options.sweepIntervalMs ?? 30_000,
      sweepMinAgeMs: options.sweepMinAgeMs ?? 10_000,
      retryDelayMs: options.retryDelayMs ?? 1_000,
    };
  }

  /** Sweeps what a crash left unpublished, then starts the slow periodic sweep. */
  async start(): Promise<void> {
    const swept = await this.sweep(0);
    if (swept > 0) this.logger.info({ commits: swept }, 'outbox start-up sweep published commits left unpublished');
    this.#sweepTimer = setInterval(() => {
      void this.sweep(this.#options.sweepMinAgeMs).catch((err: unknown) =>
        this.logger.warn({ err }, 'outbox sweep failed; will retry'),
      );
    }, this.#options.sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** Hands a fresh commit to the relay. */
  notify(commit: CommitDocument): void {
    if (this.#stopped) return; // the start-up sweep of the next run publishes it
    this.#queue.push(commit);
    this.#kick();
  }

  #kick(): void {
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
      // A commit may have arrived between the drain's last look at the queue and this point.
      if (this.#queue.length > 0 && !this.#stopped) this.#kick();
      else for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  /** Resolves when every commit handed over so far is published. */
  async flushed(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Publishes unpublished commits older than `minAgeMs`; returns how many. */
  async sweep(minAgeMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      const cutoff = new Date(Date.now() - minAgeMs);
      const batch = await this.commits.find(
        { published: false, committedAt: { $lte: cutoff } },
        { sort: { committedAt: 1, firstVersion: 1 }, limit: this.#options.batchSize },
      );
      if (batch.length === 0) return total;
      await this.#publish(batch);
      total += batch.length;
      this.stats.swept += batch.length;
    }
  }

  /** Commits parked (given up on) by the relay, oldest first; the operator's AdminService lists them. */
  async parked(): Promise<ParkedCommit[]> {
    return (await this.commits.find({ parked: { $exists: true } }, { sort: { committedAt: 1, firstVersion: 1 } })) as ParkedCommit[];
  }

  /**
   * Clears a commit's parking and hands it to the relay again; the commit as it was parked, or
   * null when no commit with that id is parked.
   */
  async retryParked(id: string): Promise<ParkedCommit | null> {
    const before = await this.commits.findOneAndUpdate(
      { _id: id, parked: { $exists: true } },
      { $unset: { parked: '' } },
      { returnDocument: 'before' },
    );
    if (!before) return null;
    const { parked: _parked, ...commit } = before;
    if (!commit.published) this.notify(commit as CommitDocument);
    return before as ParkedCommit;
  }

  /** Stops taking new work and waits for the round in progress. */
  async stop(): Promise<void> {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await this.flushed();
    this.#stopped = true;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.batchSize);
      for (;;) {
        try {
          await this.#publish(batch);
          break;
        } catch (err) {
          if (this.#stopped) return;
          publishFailures.inc();
          this.logger.warn({ err, commits: batch.length }, 'outbox publish failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, this.#options.retryDelayMs));
        }
      }
    }
  }

  async #publish(batch: CommitDocument[]): Promise<void> {
    // One connection keeps publish order, so all publishes of a batch can be in flight at once
    // and each stream's events are still stored in version order.
    const messages = batch.flatMap(commitMessages);
    await Promise.all(messages.map((m) => this.publisher.publish(m)));
    await this.commits.updateMany(
      { _id: { $in: batch.map((c) => c._id) } },
      { $set: { published: true, publishedAt: new Date() } },
    );
    const publishedAt = Date.now();
    for (const c of batch) publishLatency.observe((publishedAt - new Date(c.committedAt).getTime()) / 1000);
    publishedCommits.inc(batch.length);
    this.stats.commitsPublished += batch.length;
    this.stats.messagesPublished += messages.length;
  }
}
