import type { Logger } from './logging.js';

/** Something to close at shutdown. */
export interface Closeable {
  name: string;
  close: () => Promise<void>;
}

/**
 * Closes what a process opened, in reverse order of opening: consumers stop taking messages
 * and finish the ones in hand, gRPC stops accepting calls, the relay flushes, the NATS
 * connection drains, storage closes last. Signals (SIGTERM, SIGINT) trigger it once.
 */
export class Lifecycle {
  readonly #resources: Closeable[] = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** Registers a resource; returns it for chaining at the call site. */
  add<T>(name: string, resource: T, close: (resource: T) => Promise<void>): T {
    this.#resources.push({ name, close: () => close(resource) });
    return resource;
  }

  /** Closes everything once; later calls return the same promise. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const resource of [...this.#resources].reverse()) {
        const started = Date.now();
        try {
          await resource.close();
          this.logger.info({ resource: resource.name, ms: Date.now() - started }, 'closed');
        } catch (err) {
          this.logger.error({ err, resource: resource.name }, 'close failed');
        }
      }
    })();
    return this.#closing;
  }

  /** What a stop signal does: the first closes everything, then exits 0; a second exits 1 at once. */
  signal(signal: NodeJS.Signals, exit: (code: number) => void = (code) => process.exit(code), why = 'shutting down'): void {
    if (this.#closing) {
      this.logger.warn({ signal }, 'second signal: exiting without waiting');
      exit(1);
      return;
    }
    this.logger.info({ signal }, why);
    void this.close().then(() => exit(0));
  }

  /** Closes on SIGTERM or SIGINT, then exits; a second signal exits at once. */
  closeOnSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: NodeJS.Signals) => this.signal(signal, exit);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
