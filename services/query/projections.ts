// Feeds the read models from JetStream: order views from order, payment and shipping events;
// availability from inventory events. Every apply is idempotent and order-independent, so a
// redelivery, a duplicate or a replay changes nothing, and a rebuild can run beside the live feed.
import { EventEmitter } from 'node:events';
import { DeliverPolicy } from '@nats-io/jetstream';
import { decodeMessage, readMetadata, UnavailableError, type Logger, type MessageHandler, type Nats, type ReceivedMessage } from '../platform/index.js';
import type { StockLevel } from '../../generated/orderflow/inventory/v1/events.js';
import { coalescedCheckpoints } from './checkpoints.js';
import type { OrderViewState } from './order-view.js';
import type { ProjectionName, ReadModels } from './views.js';

/** Which streams feed which read model. */
export const projectionSources: Record<ProjectionName, readonly string[]> = {
  order_views: ['ORDERS_EVENTS', 'PAYMENTS_EVENTS', 'SHIPPING_EVENTS'],
  product_availability: ['INVENTORY_EVENTS'],
};

const short = (type: string) => type.split('.').at(-1) ?? type;

/** Options of `createProjections`. */
export interface ProjectionOptions {
  /** Longest `orderView` waits for a version. */
  waitMs: number;
  /** Longest an applied message's checkpoint waits to be written. Default 250 ms. */
  checkpointIntervalMs?: number;
  logger?: Logger;
}

export function createProjections(models: ReadModels, options: ProjectionOptions) {
  const written = new EventEmitter();
  written.setMaxListeners(0);
  const checkpoints = coalescedCheckpoints({
    write: ({ projection, stream, seq }) => models.checkpoint(projection as ProjectionName, stream, seq),
    intervalMs: options.checkpointIntervalMs,
    logger: options.logger,
  });

  /** Applies one message to the read models it feeds; `seq` is its stream sequence. */
  const apply = async (projection: ProjectionName, m: { subject: string; data: Uint8Array; seq: number; metadata: ReturnType<typeof readMetadata> }) => {
    const type = m.metadata.type;
    const data = decodeMessage(type, m.data) as Record<string, unknown>;
    const occurredAt = data.occurredAt instanceof Date ? data.occurredAt : new Date(0);
    if (projection === 'order_views') {
      const orderId = String(data.orderId ?? '');
      if (!orderId) return;
      const isOrderEvent = m.subject.startsWith('orders.');
      const state = await models.applyOrderEvent(orderId, {
        // An event's identity is its place in its event-store stream; a re-published copy under
        // another message id is still the same event.
        id: m.metadata.streamId ? `${m.metadata.streamId}@${m.metadata.streamVersion}` : m.metadata.id,
        type,
        version: isOrderEvent ? (m.metadata.streamVersion ?? 0) : 0,
        occurredAt,
        data,
      });
      written.emit(orderId, state);
      return;
    }
    const sku = String(data.sku ?? '');
    const name = short(type);
    if (name === 'ProductCreated' || name === 'ProductPriceChanged') {
      await models.applyCatalog(sku, m.seq, { ...(data.name ? { name: String(data.name) } : {}), ...(data.price ? { price: data.price as { amountMinor: number; currency: string } } : {}) }, occurredAt);
    }
    const levels = (data.levels as StockLevel[] | undefined) ?? (data.level ? [data.level as StockLevel] : []);
    if (levels.length === 0 && (name === 'ProductCreated' || name === 'ProductRestocked')) {
      const onHand = Number(data.onHand ?? 0);
      // Catalog events from before levels rode in them carry on-hand only; availability follows
      // from it when nothing is reserved yet.
      const current = await models.availability.findOne({ _id: sku });
      await models.applyLevels(sku, m.seq, { onHand, available: onHand - (current?.reserved ?? 0), reserved: current?.reserved ?? 0, revision: 0 }, occurredAt);
    }
    for (const level of levels) {
      await models.applyLevels(level.sku, m.seq, { onHand: level.onHand, available: level.available, reserved: level.reserved, revision: level.revision }, occurredAt);
    }
  };

  const handler =
    (projection: ProjectionName): MessageHandler =>
    async (m: ReceivedMessage) => {
      await apply(projection, m);
      checkpoints.note({ projection, stream: m.stream, seq: m.seq });
    };

  return {
    handler,
    /** Waits until the order's view has folded `minVersion`; UNAVAILABLE after the bound. */
    async orderView(orderId: string, minVersion: number): Promise<OrderViewState | null> {
      const read = async () => (await models.orders.findOne({ _id: orderId })) as OrderViewState | null;
      const now = await read();
      if (!minVersion || (now && now.version >= minVersion)) return now;
      return new Promise((resolve, reject) => {
        const done = (state: OrderViewState | null, err?: Error) => {
          clearTimeout(timer);
          clearInterval(poll);
          written.off(orderId, onWrite);
          if (err) reject(err);
          else resolve(state);
        };
        const onWrite = (state: OrderViewState) => state.version >= minVersion && done(state);
        // A failed look is not the answer (the next look or a write may still bring the version),
        // but it is what the caller is told if the deadline passes.
        let lastFailure: unknown;
        const look = async () => {
          try {
            const state = await read();
            if (state && state.version >= minVersion) done(state);
          } catch (err) {
            lastFailure = err;
          }
        };
        // Writes by another replica (MongoDB) are not announced here: look now and then too.
        const poll = setInterval(() => void look(), 200);
        const timer = setTimeout(() => {
          const why = lastFailure === undefined ? '' : ` (reading it failed: ${lastFailure instanceof Error ? lastFailure.message : String(lastFailure)})`;
          done(null, new UnavailableError(`the order view of ${orderId} has not reached version ${minVersion} within ${options.waitMs} ms${why}; retry`, { cause: lastFailure }));
        }, options.waitMs);
        written.on(orderId, onWrite);
      });
    },
    /** Drops a read model and replays its streams from the start; returns the events replayed. */
    async rebuild(nats: Nats, projection: ProjectionName): Promise<number> {
      await models.drop(projection);
      let replayed = 0;
      for (const stream of projectionSources[projection]) {
        const info = await nats.jsm.streams.info(stream);
        if (info.state.messages === 0) continue;
        const consumer = await nats.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
        const messages = await consumer.consume();
        for await (const raw of messages) {
          const metadata = readMetadata(raw.headers);
          await apply(projection, { subject: raw.subject, data: raw.data, seq: raw.seq, metadata });
          checkpoints.note({ projection, stream, seq: raw.seq });
          replayed++;
          if (raw.info.pending === 0 && raw.seq >= info.state.last_seq) break;
        }
        await messages.close();
      }
      // Done means reported done: GetProjectionStatus then shows the replay's checkpoints.
      await checkpoints.flush();
      return replayed;
    },
    /** Writes the checkpoints noted so far (they are otherwise written within the interval). */
    flushCheckpoints: checkpoints.flush,
    /** Writes the pending checkpoints: at shutdown, once the consumers have stopped. */
    close: checkpoints.close,
  };
}

export type Projections = ReturnType<typeof createProjections>;
