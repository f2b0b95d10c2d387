// The read-model documents: order views (events kept per order, state folded from them),
// product availability (guarded by inventory's revision), and projection checkpoints.
import type { DocumentStore } from '../platform/index.js';
import { foldOrderView, type OrderViewState, type ViewEvent } from './order-view.js';

export interface OrderViewDocument extends OrderViewState {
  [key: string]: unknown;
  _id: string;
  events: ViewEvent[];
  /** How many events the stored state was folded from; a fold over more events wins. */
  folded: number;
}

export interface AvailabilityDocument {
  [key: string]: unknown;
  _id: string;
  sku: string;
  name: string;
  price?: { amountMinor: number; currency: string };
  onHand: number;
  available: number;
  reserved: number;
  /**
   * Inventory's revision of the levels shown: a level with a lower one never overwrites them,
   * whatever order events arrive or are re-published in. 0 for events from before revisions.
   */
  levelRevision: number;
  /** INVENTORY_EVENTS sequence of the levels shown; orders only levels without a revision. */
  levelSeq: number;
  catalogSeq: number;
  updatedAt: Date;
}

interface CheckpointDocument {
  [key: string]: unknown;
  _id: string;
  seq: number;
}

export const projectionNames = ['order_views', 'product_availability'] as const;
export type ProjectionName = (typeof projectionNames)[number];

export function readModels(store: DocumentStore) {
  const orders = store.collection<OrderViewDocument>('order_views');
  const availability = store.collection<AvailabilityDocument>('product_availability');
  const checkpoints = store.collection<CheckpointDocument>('checkpoints');

  return {
    orders,
    availability,
    /** Adds an event to its order's view once, then refolds; returns the view. */
    async applyOrderEvent(orderId: string, event: ViewEvent): Promise<OrderViewState> {
      // The event is the same object on every delivery, so $addToSet keeps it once.
      const doc = await orders.findOneAndUpdate({ _id: orderId }, { $addToSet: { events: event }, $setOnInsert: { folded: 0 } }, { upsert: true });
      const events = doc?.events ?? [event];
      const state = foldOrderView(orderId, events);
      await orders.updateOne({ _id: orderId, folded: { $lt: events.length } }, { $set: { ...state, folded: events.length } });
      return state;
    },
    /**
     * Shows a product's levels unless newer ones are shown: newer is a higher inventory revision,
     * or, between levels published before revisions existed (revision 0), a later stream sequence.
     */
    async applyLevels(sku: string, seq: number, levels: { onHand: number; available: number; reserved: number; revision: number }, at: Date) {
      await this.ensureProduct(sku, at);
      // A document written before revisions existed has none: it counts as revision 0.
      await availability.updateOne({ _id: sku, levelRevision: { $exists: false } }, { $set: { levelRevision: 0 } });
      const { revision, onHand, available, reserved } = levels;
      const newer = revision > 0 ? { levelRevision: { $lt: revision } } : { levelRevision: 0, levelSeq: { $lt: seq } };
      await availability.updateOne({ _id: sku, ...newer }, { $set: { onHand, available, reserved, levelRevision: revision, levelSeq: seq, updatedAt: at } });
    },
    async applyCatalog(sku: string, seq: number, fields: { name?: string; price?: { amountMinor: number; currency: string } }, at: Date) {
      await this.ensureProduct(sku, at);
      await availability.updateOne({ _id: sku, catalogSeq: { $lt: seq } }, { $set: { ...fields, catalogSeq: seq } });
    },
    async ensureProduct(sku: string, at: Date) {
      await availability.updateOne(
        { _id: sku },
        { $setOnInsert: { sku, name: '', onHand: 0, available: 0, reserved: 0, levelRevision: 0, levelSeq: 0, catalogSeq: 0, updatedAt: at } },
        { upsert: true },
      );
    },
    async checkpoint(projection: ProjectionName, stream: string, seq: number) {
      await checkpoints.updateOne({ _id: `${projection}:${stream}` }, { $max: { seq } }, { upsert: true });
    },
    async checkpoints() {
      return checkpoints.find({}, { sort: { _id: 1 } });
    },
    async drop(projection: ProjectionName) {
      await store.collection(projection).drop();
      await checkpoints.deleteMany({ _id: { $in: ['ORDERS_EVENTS', 'PAYMENTS_EVENTS', 'SHIPPING_EVENTS', 'INVENTORY_EVENTS'].map((s) => `${projection}:${s}`) } });
    },
  };
}

export type ReadModels = ReturnType<typeof readModels>;
