// The read-model documents: order views (the state folded so far, with the ids of the events in
// it), product availability (guarded by inventory's revision), and projection checkpoints.
import { randomUUID } from 'node:crypto';
import { DuplicateKeyError, UnavailableError, type DocumentStore, type Filter } from '../platform/index.js';
import { emptyView, evolveOrderView, foldOrderView, type FoldEvent, type OrderViewFold, type OrderViewState, type ViewEvent } from './order-view.js';
import { perKeyBatches, recentDocuments } from './batches.js';

/**
 * An order view as stored: the fold and a revision each write replaces, so a write based on a
 * stale read is refused. Views written before the incremental fold have no revision and no
 * fold bookkeeping, but the events themselves (`events`) and how many were folded (`folded`):
 * they read as they are, and are refolded from those events (and rewritten in the new shape) the
 * first time another event arrives for them.
 */
export interface OrderViewDocument extends OrderViewState, Partial<Pick<OrderViewFold, 'applied' | 'statusMarks' | 'stepVersions' | 'orderVersions'>> {
  [key: string]: unknown;
  _id: string;
  /** Changes with every write: the optimistic guard of the next one. */
  revision?: string;
  /** Earlier shape only: the events, payloads and all. */
  events?: ViewEvent[];
  /** Earlier shape only: how many events the state was folded from. */
  folded?: number;
}

/** How many times one event is retried against writers racing for the same view before giving up (the message is redelivered). */
const maxApplyAttempts = 50;

/** The fold a stored view holds; one of the earlier shape is refolded from the events it kept. */
function storedFold(doc: OrderViewDocument): OrderViewFold {
  if (doc.applied && doc.statusMarks && doc.stepVersions && doc.orderVersions) {
    const { _id, revision, events, folded, ...fold } = doc;
    return fold as unknown as OrderViewFold;
  }
  return foldOrderView(doc._id, doc.events ?? []);
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

/** A product's availability before any event has set it. */
const newProduct = (sku: string, at: Date): AvailabilityDocument => ({
  _id: sku,
  sku,
  name: '',
  onHand: 0,
  available: 0,
  reserved: 0,
  levelRevision: 0,
  levelSeq: 0,
  catalogSeq: 0,
  updatedAt: at,
});

export const projectionNames = ['order_views', 'product_availability'] as const;
export type ProjectionName = (typeof projectionNames)[number];

/** Order views this process wrote last, kept to skip the read before the next write (least recently used out first). */
const recentViewsKept = 2_000;

/** The fold of a batch of events: the view after every event that folded, and the error of each that did not (by index). */
interface Folded {
  view: OrderViewFold;
  failed: Map<number, Error>;
}

/** Folds each event in turn; an event the fold throws on is left out and reported, the others still fold. */
function foldEach(before: OrderViewFold, events: FoldEvent[]): Folded {
  let view = before;
  const failed = new Map<number, Error>();
  events.forEach((event, i) => {
    try {
      view = evolveOrderView(view, event);
    } catch (err) {
      failed.set(i, err instanceof Error ? err : new Error(String(err)));
    }
  });
  return { view, failed };
}

export function readModels(store: DocumentStore) {
  const orders = store.collection<OrderViewDocument>('order_views');
  const recentViews = recentDocuments<OrderViewDocument>(recentViewsKept);
  const availability = store.collection<AvailabilityDocument>('product_availability');
  const checkpoints = store.collection<CheckpointDocument>('checkpoints');

  /**
   * Sets `fields` on a product's availability where `guard` holds. When it does not: a product
   * not shown yet is created with them; one shown is left alone unless `repair` (given the
   * document) fixes it up and asks for another try.
   */
  const guardedWrite = async (sku: string, guard: Filter, fields: Partial<AvailabilityDocument>, at: Date, repair: (doc: AvailabilityDocument) => Promise<boolean>) => {
    for (;;) {
      if ((await availability.updateOne({ _id: sku, ...guard }, { $set: fields })).matched === 1) return;
      const doc = await availability.findOne({ _id: sku });
      if (doc && !(await repair(doc))) return;
      if (doc) continue;
      try {
        await availability.insertOne({ ...newProduct(sku, at), ...fields });
        return;
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err; // created meanwhile: try the guard on it
      }
    }
  };

  /**
   * Folds `events` into the view with one read and one write: the write is refused when another
   * writer changed the view since the read (or created it), and then the fold is done again over
   * what that writer left. The read is skipped when this process wrote the view last: its copy is
   * kept, and the write's guard tells when another replica has changed the view since.
   */
  const foldAndWrite = async (orderId: string, events: FoldEvent[]): Promise<Folded> => {
    for (let attempt = 1; ; attempt++) {
      const doc = recentViews.take(orderId) ?? (await orders.findOne({ _id: orderId }));
      const before = doc ? storedFold(doc) : emptyView(orderId);
      const folded = foldEach(before, events);
      if (folded.view === before) {
        if (doc) recentViews.keep(doc);
        return folded;
      }
      const view: OrderViewDocument = { _id: orderId, ...folded.view, revision: randomUUID() };
      try {
        if (!doc) {
          await orders.insertOne(view);
          recentViews.keep(view);
          return folded;
        }
        const unchanged: Filter = { _id: orderId, revision: doc.revision ?? { $exists: false } };
        if ((await orders.replaceOne(unchanged, view)).matched === 1) {
          recentViews.keep(view);
          return folded;
        }
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err; // else: created meanwhile
      }
      if (attempt >= maxApplyAttempts) {
        throw new UnavailableError(`the order view of ${orderId} changed under ${attempt} attempts to fold ${events.map((e) => e.id).join(', ')}; retry`);
      }
    }
  };
  const orderWrites = perKeyBatches<FoldEvent, OrderViewState>(async (orderId, events) => {
    const { view, failed } = await foldAndWrite(orderId, events);
    return events.map((_, i) => failed.get(i) ?? view);
  });

  return {
    orders,
    availability,
    /**
     * Folds an event into its order's view once; returns the view (with every event folded by
     * the same write). Events of one order are applied one write at a time in this process, and
     * those that arrive together (the two events of one commit, say) share that write.
     */
    applyOrderEvent: (orderId: string, event: FoldEvent): Promise<OrderViewState> => orderWrites.apply(orderId, event),
    /**
     * Shows a product's levels unless newer ones are shown: newer is a higher inventory revision,
     * or, between levels published before revisions existed (revision 0), a later stream sequence.
     * One write when the product is shown already; more only when the guarded write misses.
     */
    async applyLevels(sku: string, seq: number, levels: { onHand: number; available: number; reserved: number; revision: number }, at: Date) {
      const { revision, onHand, available, reserved } = levels;
      const newer = revision > 0 ? { levelRevision: { $lt: revision } } : { levelRevision: 0, levelSeq: { $lt: seq } };
      const shown = { onHand, available, reserved, levelRevision: revision, levelSeq: seq, updatedAt: at };
      await guardedWrite(sku, newer, shown, at, async (doc) => {
        if (doc.levelRevision !== undefined) return false; // newer levels are shown
        // A document written before revisions existed has none: it counts as revision 0.
        await availability.updateOne({ _id: sku, levelRevision: { $exists: false } }, { $set: { levelRevision: 0 } });
        return true;
      });
    },
    /** Shows a product's name and price unless a later catalog event's are shown. */
    async applyCatalog(sku: string, seq: number, fields: { name?: string; price?: { amountMinor: number; currency: string } }, at: Date) {
      await guardedWrite(sku, { catalogSeq: { $lt: seq } }, { ...fields, catalogSeq: seq }, at, async () => false);
    },
    async checkpoint(projection: ProjectionName, stream: string, seq: number) {
      await checkpoints.updateOne({ _id: `${projection}:${stream}` }, { $max: { seq } }, { upsert: true });
    },
    async checkpoints() {
      return checkpoints.find({}, { sort: { _id: 1 } });
    },
    async drop(projection: ProjectionName) {
      await store.collection(projection).drop();
      if (projection === 'order_views') recentViews.clear();
      await checkpoints.deleteMany({ _id: { $in: ['ORDERS_EVENTS', 'PAYMENTS_EVENTS', 'SHIPPING_EVENTS', 'INVENTORY_EVENTS'].map((s) => `${projection}:${s}`) } });
    },
  };
}

export type ReadModels = ReturnType<typeof readModels>;
