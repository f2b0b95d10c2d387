import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from './logging.js';
import { gauge, type HealthReport } from './metrics.js';
import type { DocumentStore } from './storage/index.js';

const checkUp = gauge('orderflow_health_check_up', 'Whether a dependency the process needs answers (1) or not (0), by check', ['check']);

/**
 * Whether this process can do its work: a set of named checks (NATS, storage, ...), each up or
 * down, all down until first seen up. The process is serving when every check is up. gRPC health
 * and `/healthz` both answer from it; listeners hear every change of the overall state.
 */
export class ProcessHealth {
  readonly #checks = new Map<string, { ok: boolean; detail?: string }>();
  readonly #listeners = new Set<(serving: boolean) => void>();

  constructor(
    private readonly logger: Logger,
    checks: readonly string[],
  ) {
    for (const name of checks) this.#checks.set(name, { ok: false, detail: 'not checked yet' });
  }

  /** Records a check's state; a change is logged, counted and, if it changes `serving`, announced. */
  set(check: string, ok: boolean, detail?: string): void {
    const previous = this.#checks.get(check);
    const wasServing = this.serving;
    this.#checks.set(check, { ok, ...(detail ? { detail } : {}) });
    checkUp.set({ check }, ok ? 1 : 0);
    if (previous?.ok === ok) return;
    if (ok) this.logger.info({ check }, 'health check up');
    else this.logger.warn({ check, detail }, 'health check down');
    if (this.serving !== wasServing) for (const listener of this.#listeners) listener(this.serving);
  }

  get serving(): boolean {
    return [...this.#checks.values()].every((c) => c.ok);
  }

  report(): HealthReport {
    return { serving: this.serving, checks: Object.fromEntries(this.#checks) };
  }

  /** Calls `listener` with the current state now and on every change; returns the unsubscription. */
  watch(listener: (serving: boolean) => void): () => void {
    this.#listeners.add(listener);
    listener(this.serving);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Keeps the `nats` check in step with the connection: down on disconnect (nats.js keeps
 * reconnecting), up on reconnect, down for good once the connection is closed.
 */
export function watchNats(nc: NatsConnection, health: ProcessHealth, check = 'nats'): void {
  health.set(check, !nc.isClosed());
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') health.set(check, false, 'disconnected; reconnecting');
      else if (status.type === 'reconnect') health.set(check, true);
    }
    health.set(check, false, 'connection closed');
  })();
  void nc.closed().then(() => health.set(check, false, 'connection closed'));
}

/** Options of `probeStorage`. */
export interface StorageProbeOptions {
  /** Between probes. Default 5 s. */
  intervalMs?: number;
  /** A probe slower than this counts as down. Default 2 s. */
  timeoutMs?: number;
}

/**
 * Probes storage with a cheap read (findOne by id in a tiny collection) now and then every
 * `intervalMs`, setting the `storage` check; a read that fails or hangs past `timeoutMs` is down.
 * Returns the stop function.
 */
export function probeStorage(store: DocumentStore, health: ProcessHealth, options: StorageProbeOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = async () => {
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        store.collection<{ _id: string }>('health_probe').findOne({ _id: 'probe' }),
        new Promise((_resolve, reject) => {
          deadline = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (!stopped) health.set('storage', true);
    } catch (err) {
      if (!stopped) health.set('storage', false, err instanceof Error ? err.message : String(err));
    } finally {
      clearTimeout(deadline);
      if (!stopped) {
        timer = setTimeout(() => void run(), intervalMs);
        timer.unref();
      }
    }
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
