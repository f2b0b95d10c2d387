// Catalog changes and reads. A change and its event must never diverge, and there is no
// transaction spanning the product document and the event store, so the event rides in the
// document: the one atomic update that changes the product also pushes the event onto its
// `pending` list (at the next position of `product-<sku>`, with a deterministic id). The event
// is then appended at exactly that position and the list cleared. A crash in between leaves
// the event pending; the next change of that product, or the start-up repair, appends it.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import {
  AlreadyExistsError,
  ConcurrencyError,
  DuplicateKeyError,
  NotFoundError,
  UnavailableError,
  type DocumentStore,
  type EventStore,
  type Logger,
  type Update,
} from '../platform/index.js';
import {
  createdDocument,
  levelOf,
  pendingEvent,
  productsCollection,
  productStream,
  toNewEvent,
  type CatalogEvent,
  type NewProduct,
  type PendingEvent,
  type ProductDocument,
} from './product.js';

export interface Catalog {
  /** Throws AlreadyExistsError when the sku is taken. */
  create(product: NewProduct, now: Date): Promise<ProductDocument>;
  /** Adds units to on_hand and available; throws NotFoundError for an unknown sku. */
  restock(sku: string, quantity: number, now: Date): Promise<ProductDocument>;
  /** Sets the price; the same price again changes nothing and records no event. */
  updatePrice(sku: string, price: Money, now: Date): Promise<ProductDocument>;
  get(sku: string): Promise<ProductDocument>;
  /** The products found, in the order asked for, and the skus that match none. */
  batchGet(skus: string[]): Promise<{ found: ProductDocument[]; missing: string[] }>;
  /** One page by sku, after `after`; `more` tells whether another page follows. */
  list(pageSize: number, after: string | undefined): Promise<{ products: ProductDocument[]; more: boolean }>;
  /** Appends whatever catalog events are still pending in any product; returns how many products had some. */
  repairPending(): Promise<number>;
}

export interface CatalogOptions {
  store: DocumentStore;
  events: EventStore;
  logger: Logger;
  /** Tries of a change that keeps racing other writers of the same product. Default 20. */
  maxAttempts?: number;
}

export async function createCatalog(options: CatalogOptions): Promise<Catalog> {
  const { events, logger } = options;
  const products = options.store.collection<ProductDocument>(productsCollection);
  await products.createIndex({ hasPending: 1 });
  const maxAttempts = options.maxAttempts ?? 20;

  /** Appends one pending event at its position, unless an earlier flush already did. */
  const appendOnce = async (sku: string, entry: PendingEvent): Promise<void> => {
    const stream = productStream(sku);
    const head = await events.streamVersion(stream);
    if (head >= entry.position) return;
    if (head !== entry.position - 1) {
      throw new Error(`${stream} is at version ${head}; event ${entry.id} cannot follow it (an earlier event is missing)`);
    }
    try {
      await events.append(stream, head, [toNewEvent(entry)], { correlationId: stream });
    } catch (err) {
      // A concurrent flush of the same product appended it first.
      if (err instanceof ConcurrencyError && (await events.streamVersion(stream)) >= entry.position) return;
      throw err;
    }
  };

  /** Appends the product's pending events in order, then clears them if nothing new arrived meanwhile. */
  const flush = async (sku: string): Promise<void> => {
    const doc = await products.findOne({ _id: sku });
    if (!doc?.hasPending) return;
    for (const entry of [...doc.pending].sort((a, b) => a.position - b.position)) await appendOnce(sku, entry);
    // Guarded by streamVersion: a change that pushed another event since our read keeps the
    // list, and its own flush clears it.
    await products.updateOne({ _id: sku, streamVersion: doc.streamVersion }, { $set: { pending: [], hasPending: false } });
  };

  /**
   * Applies a catalog change as one conditional update that also records its event. `plan` sees
   * the current document and returns the guard, the update and the event, or null for no change;
   * a lost race (the guard no longer holds) reads again and re-plans.
   */
  const change = async (
    sku: string,
    now: Date,
    plan: (doc: ProductDocument) => { guard: Record<string, unknown>; update: Update; event: CatalogEvent } | null,
  ): Promise<ProductDocument> => {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const doc = await products.findOne({ _id: sku });
      if (!doc) throw new NotFoundError('product', sku);
      const planned = plan(doc);
      if (!planned) return doc;
      const { guard, update, event } = planned;
      const after = await products.findOneAndUpdate(
        { ...guard, _id: sku, streamVersion: doc.streamVersion },
        {
          ...update,
          $inc: { ...update.$inc, version: 1, streamVersion: 1 },
          $set: { ...update.$set, updatedAt: now, hasPending: true },
          $push: { pending: pendingEvent(sku, doc.streamVersion + 1, event) },
        },
      );
      if (after) {
        await flush(sku);
        return after;
      }
      logger.debug({ sku, attempt }, 'catalog change raced another write; reading again');
    }
    throw new UnavailableError(`product ${JSON.stringify(sku)} changed ${maxAttempts} times while being updated; try again`);
  };

  return {
    async create(product, now) {
      const doc = createdDocument(product, now);
      try {
        await products.insertOne(doc);
      } catch (err) {
        if (err instanceof DuplicateKeyError) throw new AlreadyExistsError('product', product.sku, { cause: err });
        throw err;
      }
      await flush(product.sku);
      return doc;
    },

    restock: (sku, quantity, now) =>
      change(sku, now, (doc) => ({
        // The event carries the whole level at the next revision, so the document must be
        // exactly the one read: any stock move in between makes this re-plan.
        guard: { version: doc.version },
        update: { $inc: { onHand: quantity, available: quantity } },
        event: {
          type: 'ProductRestocked',
          data: {
            sku,
            quantity,
            onHand: doc.onHand + quantity,
            occurredAt: now,
            level: { ...levelOf(doc), onHand: doc.onHand + quantity, available: doc.available + quantity, revision: doc.version + 1 },
          },
        },
      })),

    updatePrice: (sku, price, now) =>
      change(sku, now, (doc) =>
        doc.price.amountMinor === price.amountMinor && doc.price.currency === price.currency
          ? null
          : { guard: {}, update: { $set: { price } }, event: { type: 'ProductPriceChanged', data: { sku, price, occurredAt: now } } },
      ),

    async get(sku) {
      const doc = await products.findOne({ _id: sku });
      if (!doc) throw new NotFoundError('product', sku);
      return doc;
    },

    async batchGet(skus) {
      const docs = skus.length === 0 ? [] : await products.find({ _id: { $in: skus } });
      const bySku = new Map(docs.map((d) => [d._id, d]));
      return {
        found: skus.flatMap((s) => bySku.get(s) ?? []),
        missing: skus.filter((s) => !bySku.has(s)),
      };
    },

    async list(pageSize, after) {
      const page = await products.find(after === undefined ? {} : { _id: { $gt: after } }, { sort: { _id: 1 }, limit: pageSize + 1 });
      return { products: page.slice(0, pageSize), more: page.length > pageSize };
    },

    async repairPending() {
      const stale = await products.find({ hasPending: true });
      for (const doc of stale) await flush(doc._id);
      if (stale.length > 0) logger.info({ products: stale.map((d) => d._id) }, 'appended catalog events left pending');
      return stale.length;
    },
  };
}
