import type { Logger } from '../logging.js';
import { IllegalStateError, NotFoundError } from '../errors.js';
import { counter, histogram } from '../metrics.js';
import { publishFailureKind, type MessagePublisher, type OutgoingMessage } from '../messaging/envelope.js';
import type { Collection } from '../storage/index.js';
import { PublishMarks } from './publish-marks.js';
import type { CommitDocument, ParkedCommit } from './types.js';

/** Options of the outbox relay. */
export interface RelayOptions {
  /** Commits published per round. Default 256. */
  batchSize?: number;
  /** How often the slow sweep looks for commits another process left unpublished. Default 30s. */
  sweepIntervalMs?: number;
  /** A commit must be this old before the slow sweep takes it from its own writer. Default 10s. */
  sweepMinAgeMs?: number;
  /** Wait before retrying a commit whose publish failed. Default 1s. */
  retryDelayMs?: number;
  /**
   * Failed attempts after which a commit whose error is neither the broker's nor plainly the
   * message's is parked, provided other commits were published meanwhile. Default 5.
   */
  maxAttempts?: number;
  /**
   * How long a published commit may wait for its mark, so that the marks of many commits go out
   * in one write. A crash in that window only means a re-publish, which JetStream de-duplicates.
   * Default 25 ms; 0 marks each round at once.
   */
  markDelayMs?: number;
}

/** Relay progress, for logs and tests. */
export interface RelayStats {
  commitsPublished: number;
  messagesPublished: number;
  swept: number;
  /** Commits this relay parked (each is logged at error). */
  parked: number;
}

/** A parked commit, as `parked()` lists it. */
export interface ParkedSummary {
  commitId: string;
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  committedAt: Date;
  /** The order the commit belongs to. */
  correlationId: string;
  /** Types of the events and messages the commit holds, in order. */
  messageTypes: string[];
  parked: ParkedCommit;
}

/** What `retryParked` did with the commit and those parked behind it, by commit id. */
export interface RetryOutcome {
  published: string[];
  /** Parked again (still unpublishable, or behind one that is). */
  parked: string[];
}

const publishLatency = histogram(
  'orderflow_outbox_publish_latency_seconds',
  'Time from a commit to its being published (its mark may follow, batched), per commit',
  [],
  [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
);
const publishedCommits = counter('orderflow_outbox_published_commits_total', 'Commits the relay published');
const publishFailures = counter('orderflow_outbox_publish_failures_total', 'Failed attempts to publish a commit (retried or parked)');
const parkedCommits = counter('orderflow_outbox_parked_commits_total', 'Commits parked because they could not be published');

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
  // A scrubbed message was published before its payload was blanked; JetStream has it.
  const messages = commit.messages
    .filter((m) => !m.scrubbed)
    .map((m) => ({ subject: m.subject, id: m.id, type: m.type, data: decode(m.data), ...meta }));
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
 *
 * Nothing a caller wrote can stop it. Each commit is published on its own, so one failure does
 * not fail the others. A commit that can never be published (the broker refuses the message
 * itself, or it keeps failing for `maxAttempts` while other commits go through) is PARKED: its
 * document gets `parked: { error, at, attempts }`, the sweep no longer takes it, it is logged at
 * error and counted, `parked()` lists it and `retryParked(id)` tries it again. A broker outage
 * (connection, timeout, 5xx) never parks anything: it is retried until the broker is back.
 *
 * Order: one stream's commits go out one after another in version order, and a commit is only
 * sent once the one before it in its stream was stored (its later commits wait while it is
 * retried). The later commits of a stream whose earlier commit is parked are PARKED TOO
 * (`blockedBy` names it), not held: publishing them would give consumers version n+1 without n,
 * while holding them would leave invisible, ever-growing work that every sweep re-reads. Parked,
 * they are visible and durable across restarts, and `retryParked(first)` releases the chain in
 * order. Which streams have a parked commit is kept in memory (loaded at start); a replica learns
 * of another replica's parking only at its next start, which is acceptable since a stream's
 * commits are written by the replica that handles its messages.
 */
export class OutboxRelay {
  readonly stats: RelayStats = { commitsPublished: 0, messagesPublished: 0, swept: 0, parked: 0 };
  readonly #queue: CommitDocument[] = [];
  readonly #options: Required<RelayOptions>;
  /** Stream id → its earliest parked commit. */
  readonly #parkedStreams = new Map<string, string>();
  /** Failed attempts of commits not yet published or parked. */
  readonly #failures = new Map<string, { attempts: number; since: number; retryAt: number }>();
  #lastSuccessAt = 0;
  #running: Promise<void> | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #idle: (() => void)[] = [];
  /** Published commits whose mark waits to go out with others'. */
  readonly #marks: PublishMarks;

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
      maxAttempts: options.maxAttempts ?? 5,
      markDelayMs: options.markDelayMs ?? 25,
    };
    this.#marks = new PublishMarks(commits, logger, { delayMs: this.#options.markDelayMs, maxWaiting: this.#options.batchSize });
  }

  /** Sweeps what a crash left unpublished, then starts the slow periodic sweep. Never throws for a commit it cannot publish. */
  async start(): Promise<void> {
    for (const c of await this.commits.find({ published: false, parked: { $exists: true } }, { sort: { firstVersion: 1 } })) {
      if (!this.#parkedStreams.has(c.streamId)) this.#parkedStreams.set(c.streamId, c._id);
    }
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

  /** Resolves when every commit handed over so far is published and marked so, or parked. */
  async flushed(): Promise<void> {
    if (this.#running || this.#queue.length > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#marks.flush();
  }

  /**
   * Publishes unpublished, unparked commits older than `minAgeMs`; returns how many went out. When
   * the broker keeps failing it stops and leaves the rest to the next sweep instead of throwing.
   */
  async sweep(minAgeMs: number): Promise<number> {
    let total = 0;
    for (;;) {
      await this.#marks.flush(); // what this relay published is marked before it looks again
      const cutoff = new Date(Date.now() - minAgeMs);
      const batch = await this.commits.find(
        { published: false, parked: { $exists: false }, committedAt: { $lte: cutoff } },
        { sort: { committedAt: 1, firstVersion: 1 }, limit: this.#options.batchSize },
      );
      if (batch.length === 0) return total;
      let pending = batch;
      for (let stuck = 0; pending.length > 0 && !this.#stopped; ) {
        const before = pending.length;
        pending = await this.#round(pending, true);
        stuck = pending.length === before ? stuck + 1 : 0;
        if (pending.length > 0 && stuck >= this.#options.maxAttempts) {
          this.logger.warn({ commits: pending.length }, 'outbox sweep cannot publish; leaving the rest to the next sweep');
          const done = batch.length - pending.length;
          this.stats.swept += done;
          return total + done;
        }
        if (pending.length > 0) await this.#delay();
      }
      total += batch.length - pending.length;
      this.stats.swept += batch.length - pending.length;
      if (pending.length > 0) return total; // stopped
    }
  }

  /** The parked commits, oldest first. */
  async parked(): Promise<ParkedSummary[]> {
    const found = await this.commits.find({ published: false, parked: { $exists: true } }, { sort: { committedAt: 1, firstVersion: 1 } });
    return found.map((c) => ({
      commitId: c._id,
      streamId: c.streamId,
      firstVersion: c.firstVersion,
      lastVersion: c.lastVersion,
      committedAt: c.committedAt,
      correlationId: c.correlationId,
      messageTypes: [...c.events.map((e) => e.type), ...c.messages.map((m) => m.type)],
      parked: c.parked!,
    }));
  }

  /**
   * Tries a parked commit again (after its cause was repaired), then the commits of its stream
   * parked behind it, in version order; whatever still cannot go out is parked again. Throws
   * NotFoundError for a commit that is not parked, IllegalStateError when an earlier commit of its
   * stream is parked (retry that one first).
   */
  async retryParked(commitId: string): Promise<RetryOutcome> {
    const commit = await this.commits.findOne({ _id: commitId, published: false, parked: { $exists: true } });
    if (!commit) throw new NotFoundError('parked commit', commitId);
    const [earliest] = await this.commits.find(
      { streamId: commit.streamId, published: false, parked: { $exists: true } },
      { sort: { firstVersion: 1 }, limit: 1 },
    );
    if (earliest && earliest._id !== commitId) {
      throw new IllegalStateError(`commit ${commitId} waits behind parked commit ${earliest._id}; retry that one first`);
    }
    const chain = await this.commits.find(
      { streamId: commit.streamId, published: false, firstVersion: { $gte: commit.firstVersion } },
      { sort: { firstVersion: 1 } },
    );
    await this.commits.updateMany({ _id: { $in: chain.map((c) => c._id) } }, { $unset: { parked: true } });
    this.#parkedStreams.delete(commit.streamId);
    for (const c of chain) this.#failures.delete(c._id);
    let pending = chain.map(({ parked: _parked, ...c }) => c as CommitDocument);
    // A broker outage leaves the commits unparked, for the sweep.
    for (let round = 0; pending.length > 0 && round < this.#options.maxAttempts; round++) {
      if (round > 0) await this.#delay();
      pending = await this.#round(pending, true);
    }
    await this.#marks.flush();
    const after = await this.commits.find({ _id: { $in: chain.map((c) => c._id) } }, { sort: { firstVersion: 1 } });
    return { published: after.filter((c) => c.published).map((c) => c._id), parked: after.filter((c) => c.parked).map((c) => c._id) };
  }

  /** Stops taking new work and waits for the round in progress. */
  async stop(): Promise<void> {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await this.flushed();
    this.#stopped = true;
    await this.#marks.flush();
  }

  async #drain(): Promise<void> {
    let pending: CommitDocument[] = [];
    while (pending.length > 0 || this.#queue.length > 0) {
      if (this.#stopped) return;
      const batch = pending.concat(this.#queue.splice(0, Math.max(0, this.#options.batchSize - pending.length)));
      const left = await this.#round(batch, false);
      // Only a round that moved nothing waits; fresh commits behind a failing one go straight out.
      if (left.length === batch.length) {
        this.logger.warn({ commits: left.length }, 'outbox publish failed; retrying');
        await this.#delay();
      }
      pending = left;
    }
  }

  #delay(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.#options.retryDelayMs));
  }

  /**
   * One pass over `batch`: streams in parallel, each stream's commits in version order. Publishes,
   * parks or leaves each commit; returns those left to retry. `force` retries a commit before its
   * retry delay has passed (the sweep and retryParked wait between rounds themselves).
   */
  async #round(batch: CommitDocument[], force: boolean): Promise<CommitDocument[]> {
    const byStream = new Map<string, CommitDocument[]>();
    for (const c of batch) {
      const list = byStream.get(c.streamId);
      if (list) list.push(c);
      else byStream.set(c.streamId, [c]);
    }
    const published: CommitDocument[] = [];
    const left: CommitDocument[] = [];
    let messages = 0;
    await Promise.all(
      [...byStream.values()].map(async (commits) => {
        commits.sort((a, b) => a.firstVersion - b.firstVersion);
        for (let i = 0; i < commits.length; i++) {
          const commit = commits[i]!;
          const blockedBy = this.#parkedStreams.get(commit.streamId);
          if (blockedBy !== undefined) {
            await this.#park(commit, { error: `waits behind parked commit ${blockedBy}`, attempts: 0, blockedBy });
            continue;
          }
          const failure = this.#failures.get(commit._id);
          if (!force && failure && failure.retryAt > Date.now()) {
            left.push(...commits.slice(i)); // not due yet: the stream's later commits wait with it
            return;
          }
          try {
            messages += await this.#publishCommit(commit);
            this.#failures.delete(commit._id);
            this.#lastSuccessAt = Date.now();
            published.push(commit);
          } catch (err) {
            if (!(await this.#failed(commit, err))) {
              left.push(...commits.slice(i));
              return;
            }
          }
        }
      }),
    );
    if (published.length > 0) {
      await this.#marks.add(published);
      const publishedAt = Date.now();
      for (const c of published) publishLatency.observe((publishedAt - new Date(c.committedAt).getTime()) / 1000);
      publishedCommits.inc(published.length);
      this.stats.commitsPublished += published.length;
      this.stats.messagesPublished += messages;
    }
    return left;
  }

  /**
   * Publishes one commit: its events one after another (an event goes out only once the one
   * before it is stored), the last event together with the commit's other messages.
   */
  async #publishCommit(commit: CommitDocument): Promise<number> {
    const all = commitMessages(commit);
    const events = all.slice(0, commit.events.length); // commitMessages puts the events first
    for (const m of events.slice(0, -1)) await this.publisher.publish(m);
    await Promise.all([...events.slice(-1), ...all.slice(commit.events.length)].map((m) => this.publisher.publish(m)));
    return all.length;
  }

  /** Records a failed attempt; parks the commit when it can never go out. Returns whether it was parked. */
  async #failed(commit: CommitDocument, err: unknown): Promise<boolean> {
    const kind = publishFailureKind(err);
    const now = Date.now();
    const failure = this.#failures.get(commit._id) ?? { attempts: 0, since: now, retryAt: 0 };
    failure.attempts += 1;
    publishFailures.inc();
    failure.retryAt = now + this.#options.retryDelayMs;
    this.#failures.set(commit._id, failure);
    const hopeless =
      kind === 'message' || (kind === 'unknown' && failure.attempts >= this.#options.maxAttempts && this.#lastSuccessAt > failure.since);
    if (!hopeless) {
      this.logger.warn({ err, commitId: commit._id, streamId: commit.streamId, attempts: failure.attempts }, 'outbox publish failed; will retry');
      return false;
    }
    this.#failures.delete(commit._id);
    this.#parkedStreams.set(commit.streamId, commit._id);
    await this.#park(commit, { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), attempts: failure.attempts }, err);
    return true;
  }

  async #park(commit: CommitDocument, parked: Omit<ParkedCommit, 'at'>, err?: unknown): Promise<void> {
    const record: ParkedCommit = { ...parked, at: new Date() };
    await this.commits.updateOne({ _id: commit._id, published: false }, { $set: { parked: record } });
    this.stats.parked += 1;
    parkedCommits.inc();
    this.logger.error(
      { ...(err ? { err } : {}), commitId: commit._id, streamId: commit.streamId, attempts: record.attempts, blockedBy: record.blockedBy },
      'outbox commit parked: it will not be published until retried (relay.retryParked)',
    );
  }
}
