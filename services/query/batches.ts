// Two helpers of the order-view writes (views.ts): work on one key done one batch at a time, with
// what arrives meanwhile joining the next batch; and the documents this process wrote last.
import type { Doc } from '../platform/index.js';

/**
 * Runs `run` for one key at a time: items for a key that arrive in the same turn of the event
 * loop, or while a batch of that key is being run, go into one batch; the next batch of a key
 * starts when the previous one ended. `run` returns a result per item, in order; an Error
 * result rejects only that item's promise, a throw rejects the whole batch.
 */
export function perKeyBatches<I, O>(run: (key: string, items: I[]) => Promise<(O | Error)[]>) {
  interface Waiting {
    item: I;
    resolve: (value: O) => void;
    reject: (error: unknown) => void;
  }
  const queues = new Map<string, Waiting[]>();

  const drain = async (key: string, queue: Waiting[]) => {
    while (queue.length > 0) {
      const batch = queue.splice(0);
      try {
        const results = await run(
          key,
          batch.map((w) => w.item),
        );
        batch.forEach((w, i) => {
          const result = results[i];
          if (result instanceof Error) w.reject(result);
          else w.resolve(result as O);
        });
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    queues.delete(key);
  };

  return {
    apply(key: string, item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        const queue = queues.get(key);
        if (queue) {
          queue.push({ item, resolve, reject });
          return;
        }
        const fresh = [{ item, resolve, reject }];
        queues.set(key, fresh);
        setImmediate(() => void drain(key, fresh));
      });
    },
  };
}

/** Up to `limit` documents by `_id`, the least recently kept dropped first. */
export function recentDocuments<T extends Doc>(limit: number) {
  const kept = new Map<string, T>();
  return {
    /** The document kept for `id`, removed from the cache (keep it again once it is still current). */
    take(id: string): T | undefined {
      const doc = kept.get(id);
      kept.delete(id);
      return doc;
    },
    keep(doc: T): void {
      kept.delete(doc._id);
      kept.set(doc._id, doc);
      if (kept.size > limit) kept.delete(kept.keys().next().value!);
    },
    clear(): void {
      kept.clear();
    },
  };
}
