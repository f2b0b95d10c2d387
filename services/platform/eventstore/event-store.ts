import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '../errors.js';
import { currentTrace, traceHeaders, withSpan } from '../trace.js';
import type { Logger } from '../logging.js';
import { subjectFor, type MessagePublisher } from '../messaging/envelope.js';
import { DuplicateKeyError, type Collection, type DocumentStore } from '../storage/index.js';
import { OutboxRelay, type RelayOptions } from './relay.js';
import { StreamCache } from './stream-cache.js';
import type {
  AppendOptions,
  AppendResult,
  CommitDocument,
  ExpectedVersion,
  NewEvent,
  StoredEvent,
} from './types.js';

/** Options of `createEventStore`. */
export interface EventStoreOptions {
  store: DocumentStore;
  logger: Logger;
  /** Where the relay publishes. Without one, commits stay unpublished until a relay sweeps them. */
  publisher?: MessagePublisher;
  /** Collection holding the commit documents. Default `commits`. */
  collection?: string;
  relay?: RelayOptions;
  /** Streams whose events this process keeps, so reading one again fetches only newer commits. Default 1000; 0 turns it off. */
  cachedStreams?: number;
}

/** An append-only store of event streams whose commits double as the outbox. */
export interface EventStore {
  /**
   * Appends events at `expectedVersion` (0 for a new stream) in one commit document. Throws
   * ConcurrencyError when the stream is not at that version; nothing is written then.
   */
  append(streamId: string, expectedVersion: ExpectedVersion, events: NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** The stream's events from `fromVersion` (default 1), in order; empty for an unknown stream. */
  readStream(streamId: string, options?: { fromVersion?: number }): Promise<StoredEvent[]>;
  /** The stream's current version; 0 when it does not exist. */
  streamVersion(streamId: string): Promise<number>;
  /** The relay, when a publisher was given. */
  readonly relay: OutboxRelay | undefined;
  /** Creates indexes and starts the relay (with its start-up sweep). */
  start(): Promise<void>;
  /** Waits for the relay to publish what it holds, then stops it. */
  close(): Promise<void>;
}

const encode = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
const decode = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

export function createEventStore(options: EventStoreOptions): EventStore {
  const commits: Collection<CommitDocument> = options.store.collection<CommitDocument>(options.collection ?? 'commits');
  const relay = options.publisher ? new OutboxRelay(commits, options.publisher, options.logger, options.relay) : undefined;
  const cache = new StreamCache(options.cachedStreams ?? 1000);

  const streamVersion = async (streamId: string): Promise<number> => {
    const [head] = await commits.find({ streamId }, { sort: { lastVersion: -1 }, limit: 1 });
    return head?.lastVersion ?? 0;
  };

  const toStored = (commit: CommitDocument): StoredEvent[] =>
    commit.events.map((e, i) => ({
      id: e.id,
      streamId: commit.streamId,
      version: commit.firstVersion + i,
      type: e.type,
      subject: e.subject,
      data: decode(e.data),
      committedAt: commit.committedAt,
      correlationId: commit.correlationId,
      ...(commit.causationId ? { causationId: commit.causationId } : {}),
    }));

  // Each append is a span; its commit stores the span's context, so the relay's publishes are its children.
  const append: EventStore['append'] = (streamId, expectedVersion, events, appendOptions = {}) =>
    withSpan('eventstore append', { attributes: { 'orderflow.stream_id': streamId, 'orderflow.events': events.length } }, () =>
      appendInSpan(streamId, expectedVersion, events, appendOptions),
    );

  const appendInSpan: EventStore['append'] = async (streamId, expectedVersion, events, appendOptions = {}) => {
    if (events.length === 0) throw new TypeError(`append to ${streamId}: no events`);
    const expected = expectedVersion === 'any' ? await streamVersion(streamId) : expectedVersion;
    if (!Number.isInteger(expected) || expected < 0) {
      throw new TypeError(`append to ${streamId}: expected version must be a non-negative integer, got ${expected}`);
    }
    // A commit's id is its stream and first version. Versions are contiguous, so any writer that
    // raced us, or appended since our caller read the stream, already owns `<stream>@<expected+1>`.
    // Only an expected version beyond the head slips past that, hence the head check, which is
    // needless when a commit is known to end at the expected version (the stream was read there),
    // and answered without a query when the stream is known to have moved past it.
    const known = cache.head(streamId);
    if (expectedVersion !== 'any' && known !== undefined && known > expected) throw new ConcurrencyError(streamId, expected, known);
    if (expected > 0 && expectedVersion !== 'any' && known !== expected) {
      const head = await streamVersion(streamId);
      if (head !== expected) throw new ConcurrencyError(streamId, expected, head);
    }
    // Within a message handler or gRPC call, the commit continues its trace and names its cause.
    const trace = currentTrace();
    const causationId = appendOptions.causationId ?? trace?.causationId;
    const traceparent = appendOptions.traceparent ?? traceHeaders().traceparent;
    const commit: CommitDocument = {
      _id: `${streamId}@${expected + 1}`,
      streamId,
      firstVersion: expected + 1,
      lastVersion: expected + events.length,
      events: events.map((e) => ({
        id: e.id ?? randomUUID(),
        type: e.type,
        subject: e.subject ?? subjectFor(e.type, 'events'),
        data: encode(e.data),
        ...(e.headers && Object.keys(e.headers).length > 0 ? { headers: e.headers } : {}),
      })),
      messages: (appendOptions.messages ?? []).map((m) => ({
        id: m.id,
        type: m.type,
        subject: m.subject,
        data: encode(m.data),
        ...(m.sensitive ? { sensitive: true } : {}),
      })),
      correlationId: appendOptions.correlationId ?? trace?.correlationId ?? streamId,
      ...(causationId ? { causationId } : {}),
      ...(traceparent ? { traceparent } : {}),
      committedAt: appendOptions.now ?? new Date(),
      published: false,
    };
    try {
      await commits.insertOne(commit);
    } catch (err) {
      if (err instanceof DuplicateKeyError) {
        throw new ConcurrencyError(streamId, expected, await streamVersion(streamId), { cause: err });
      }
      throw err;
    }
    relay?.notify(commit);
    const stored = toStored(commit);
    if (expected === 0) cache.set(streamId, stored);
    else cache.extend(streamId, expected, stored);
    return { streamId, commitId: commit._id, version: commit.lastVersion, events: stored };
  };

  /**
   * The whole stream. A cached stream costs one lookup by id per commit written since it was
   * cached (usually one that finds nothing) instead of fetching all its commits again.
   */
  const readWholeStream = async (streamId: string): Promise<readonly StoredEvent[]> => {
    let events = cache.get(streamId);
    if (events === undefined) {
      const found = await commits.find({ streamId }, { sort: { firstVersion: 1 } });
      events = found.flatMap(toStored);
    } else {
      for (;;) {
        const next = await commits.findOne({ _id: `${streamId}@${(events.at(-1)?.version ?? 0) + 1}` });
        if (next === null) break;
        events = [...events, ...toStored(next)];
      }
    }
    cache.set(streamId, events);
    return events;
  };

  return {
    append,
    streamVersion,
    relay,
    async readStream(streamId, { fromVersion = 1 } = {}) {
      if (fromVersion <= 1 || cache.head(streamId) !== undefined) {
        return (await readWholeStream(streamId)).filter((e) => e.version >= fromVersion);
      }
      const found = await commits.find({ streamId, lastVersion: { $gte: fromVersion } }, { sort: { firstVersion: 1 } });
      return found.flatMap(toStored).filter((e) => e.version >= fromVersion);
    },
    async start() {
      await commits.createIndex({ streamId: 1, lastVersion: 1 }, { name: 'stream_versions' });
      await commits.createIndex({ published: 1, committedAt: 1 }, { name: 'unpublished' });
      await relay?.start();
    },
    async close() {
      await relay?.stop();
    },
  };
}
