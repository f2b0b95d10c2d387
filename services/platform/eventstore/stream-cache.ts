import type { StoredEvent } from './types.js';

/**
 * The events of recently used streams, each as far as this process has seen it: a prefix that
 * ends where a commit ends. Commits are never changed in their events nor removed, so a cached
 * prefix stays true for good; what it can lack is commits written since (by another replica), and
 * the one after a prefix ending at version v is found by its id, `<stream>@<v+1>`. Least recently
 * used streams are forgotten beyond `capacity`.
 */
export class StreamCache {
  readonly #streams = new Map<string, readonly StoredEvent[]>();

  constructor(private readonly capacity: number) {}

  /** The cached prefix of the stream (empty for a stream known to have no commit), if any. */
  get(streamId: string): readonly StoredEvent[] | undefined {
    const events = this.#streams.get(streamId);
    if (events !== undefined) {
      // Re-inserting marks it most recently used.
      this.#streams.delete(streamId);
      this.#streams.set(streamId, events);
    }
    return events;
  }

  /** The version at which the cached prefix ends (a commit ends there), if the stream is cached. */
  head(streamId: string): number | undefined {
    const events = this.#streams.get(streamId);
    return events === undefined ? undefined : (events.at(-1)?.version ?? 0);
  }

  /** Caches the stream's events from version 1 up to where a commit ends. */
  set(streamId: string, events: readonly StoredEvent[]): void {
    if (this.capacity <= 0) return;
    this.#streams.delete(streamId);
    this.#streams.set(streamId, events);
    while (this.#streams.size > this.capacity) {
      const oldest = this.#streams.keys().next().value as string;
      this.#streams.delete(oldest);
    }
  }

  /** Extends a cached prefix that ends at `after` by the events of the commit that follows it. */
  extend(streamId: string, after: number, events: readonly StoredEvent[]): void {
    const cached = this.#streams.get(streamId);
    if (cached !== undefined && (cached.at(-1)?.version ?? 0) === after) this.set(streamId, [...cached, ...events]);
  }
}
