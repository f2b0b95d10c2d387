// When each order ends, as seen on the broker: a core NATS subscription on the subjects of
// OrderCompleted and OrderCancelled (JetStream stores them; a core subscriber sees each publish
// without a consumer of its own), matched to the order by the correlation header.
import type { NatsConnection } from '@nats-io/nats-core';
import { decodeMessage, Events, Header } from '../services/platform/index.js';

/** How an order ended and when the bench saw it (performance.now()). */
export interface Outcome {
  status: 'COMPLETED' | 'CANCELLED';
  at: number;
}

export interface CompletionWatch {
  /** Resolves when the order ends, or with undefined after `timeoutMs`. */
  outcome(orderId: string, timeoutMs: number): Promise<Outcome | undefined>;
  /** Orders ended so far, by status. */
  readonly completed: number;
  readonly cancelled: number;
  stop(): Promise<void>;
}

export function watchCompletions(nc: NatsConnection): CompletionWatch {
  // Outcomes can arrive before PlaceOrder's answer does; they wait here until claimed.
  const unclaimed = new Map<string, Outcome>();
  const waiting = new Map<string, (o: Outcome) => void>();
  // A publish repeated by an outbox relay is stored once but seen here twice: the first counts.
  const ended = new Set<string>();
  // Both are kept to the most recent orders, so a long run does not grow the bench: a repeat comes
  // within seconds, and an outcome nobody claims soon (its order timed out) never will be.
  const forgetOldest = (ids: Set<string> | Map<string, Outcome>, keep: number) => {
    if (ids.size > keep) ids.delete(ids.keys().next().value!);
  };
  let completed = 0;
  let cancelled = 0;

  const subscribe = (subject: string, status: Outcome['status'], orderIdOf: (data: Uint8Array) => string) =>
    nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const at = performance.now();
        const orderId = msg.headers?.get(Header.CorrelationId) || orderIdOf(msg.data);
        if (ended.has(orderId)) return;
        ended.add(orderId);
        forgetOldest(ended, 100_000);
        const outcome = { status, at };
        const waiter = waiting.get(orderId);
        if (status === 'COMPLETED') completed++;
        else cancelled++;
        if (waiter) {
          waiting.delete(orderId);
          waiter(outcome);
        } else {
          unclaimed.set(orderId, outcome);
          forgetOldest(unclaimed, 10_000);
        }
      },
    });
  const subs = [
    subscribe(Events.OrderCompleted.subject, 'COMPLETED', (d) => decodeMessage(Events.OrderCompleted, d).orderId),
    subscribe(Events.OrderCancelled.subject, 'CANCELLED', (d) => decodeMessage(Events.OrderCancelled, d).orderId),
  ];

  return {
    outcome(orderId, timeoutMs) {
      const seen = unclaimed.get(orderId);
      if (seen) {
        unclaimed.delete(orderId);
        return Promise.resolve(seen);
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(orderId);
          resolve(undefined);
        }, timeoutMs);
        waiting.set(orderId, (o) => {
          clearTimeout(timer);
          resolve(o);
        });
      });
    },
    get completed() {
      return completed;
    },
    get cancelled() {
      return cancelled;
    },
    async stop() {
      for (const sub of subs) sub.unsubscribe();
      await nc.flush();
    },
  };
}
