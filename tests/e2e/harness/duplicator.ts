import { headers as natsHeaders } from '@nats-io/nats-core';
import { Header, runConsumer, silentLogger, type Nats, type RunningConsumer } from '../../../services/platform/index.js';

/** Marks a copy the duplicator made, so it is not copied again. */
export const duplicateHeader = 'Orderflow-Test-Duplicate';

/** Every stream whose messages the services act on: all events and all commands. */
export const duplicatedStreams = [
  'ORDERS_EVENTS',
  'INVENTORY_EVENTS',
  'PAYMENTS_EVENTS',
  'SHIPPING_EVENTS',
  'INVENTORY_COMMANDS',
  'PAYMENTS_COMMANDS',
  'SHIPPING_COMMANDS',
] as const;

/**
 * Delivers every message twice: it reads each stream through its own durable consumer and
 * publishes every message once more on its subject, with the same payload and headers but a new
 * msgID, as an at-least-once network or a resending producer would. JetStream does not absorb
 * the copy, so only the services' own idempotency stands between it and a second effect.
 */
export async function startDuplicator(nats: Nats): Promise<{ copies: () => number; stop(): Promise<void> }> {
  let copies = 0;
  const consumers: RunningConsumer[] = [];
  for (const stream of duplicatedStreams) {
    consumers.push(
      await runConsumer({
        nats,
        stream,
        consumer: { durable: 'test-duplicator' },
        logger: silentLogger(),
        batch: 256,
        concurrency: 32,
        handler: async (m) => {
          if (m.headers?.has(duplicateHeader)) return;
          const h = natsHeaders();
          for (const [key, values] of m.headers ?? []) for (const value of values) h.append(key, value);
          const id = `${m.metadata.id}#dup`;
          h.set(Header.MessageId, id);
          h.set(duplicateHeader, '1');
          await nats.js.publish(m.subject, m.data, { headers: h, msgID: id });
          copies += 1;
        },
      }),
    );
  }
  return {
    copies: () => copies,
    async stop() {
      for (const c of consumers) await c.stop();
    },
  };
}
