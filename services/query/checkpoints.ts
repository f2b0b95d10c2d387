// Checkpoints written in batches, not per message: every apply is idempotent, so a checkpoint
// that lags by a few messages costs only their re-application after a crash, while a write per
// message was a storage transaction per message.
import type { Logger } from '../platform/index.js';

/** Where one projection has got to in one stream. */
export interface Checkpoint {
  projection: string;
  stream: string;
  seq: number;
}

/** Options of `coalescedCheckpoints`. */
export interface CoalescedCheckpointOptions {
  /** Writes one checkpoint; keeps the higher of the stored and the given sequence. */
  write: (checkpoint: Checkpoint) => Promise<void>;
  /** Longest a noted sequence waits before it is written. Default 250 ms. */
  intervalMs?: number;
  /** Where a failed background write is reported (it is retried with the next batch). */
  logger?: Logger;
}

/**
 * Keeps the highest sequence noted per projection and stream, and writes them at most every
 * `intervalMs`, on `flush()` and on `close()`.
 */
export function coalescedCheckpoints(options: CoalescedCheckpointOptions) {
  const { write, intervalMs = 250, logger } = options;
  const pending = new Map<string, Checkpoint>();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const note = (checkpoint: Checkpoint) => {
    const key = `${checkpoint.projection}:${checkpoint.stream}`;
    if ((pending.get(key)?.seq ?? 0) < checkpoint.seq) pending.set(key, checkpoint);
  };

  /** Writes what is pending, after any write under way; what fails to be written stays pending. */
  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const run = writing.then(async () => {
      const batch = [...pending.values()];
      pending.clear();
      for (const [i, checkpoint] of batch.entries()) {
        try {
          await write(checkpoint);
        } catch (err) {
          for (const unwritten of batch.slice(i)) note(unwritten);
          throw err;
        }
      }
    });
    writing = run.catch(() => undefined);
    return run;
  };

  const schedule = () => {
    timer ??= setTimeout(() => {
      flush().catch((err: unknown) => {
        logger?.warn({ err }, 'checkpoints not written; retrying');
        schedule();
      });
    }, intervalMs).unref();
  };

  return {
    /** Records that `seq` of `stream` has been applied to `projection`; written within `intervalMs`. */
    note(checkpoint: Checkpoint) {
      note(checkpoint);
      schedule();
    },
    /** Writes what is pending now (a caller that reads checkpoints first, a rebuild at its end). */
    flush,
    /** Writes what is pending: at shutdown, after the consumers stopped. */
    close: flush,
  };
}

export type CoalescedCheckpoints = ReturnType<typeof coalescedCheckpoints>;
