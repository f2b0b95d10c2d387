/** Options of `waitFor`. */
export interface WaitOptions {
  /** Give up after this long. Default 10s. */
  timeoutMs?: number;
  /** How often the condition is checked. Default 20ms. */
  intervalMs?: number;
}

/** Thrown by a check to stop waiting at once: the condition can no longer come true. */
export class WaitAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WaitAbortedError';
  }
}

/**
 * Polls a condition until it returns a value other than undefined, null or false, or fails after the
 * deadline with what the last check saw, so a failing test says what state it was stuck in. A check
 * that throws WaitAbortedError ends the wait at once with that error.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<Exclude<T, null | undefined | false>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, null | undefined | false>;
      last = value;
    } catch (err) {
      if (err instanceof WaitAbortedError) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${options.timeoutMs ?? 10_000}ms waiting for ${what}; last saw: ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
