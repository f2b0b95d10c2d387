// A product as stored: catalog data, stock figures, the marks of stock moves in progress and the
// catalog events not yet in the event store. One document per sku, so every stock decision is
// one atomic conditional update of one document. The holds of orders live in their own
// documents (holds.ts), so the product stays small however many orders hold it.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import type {
  ProductCreated,
  ProductPriceChanged,
  ProductRestocked,
  StockLevel,
} from '../../generated/orderflow/inventory/v1/events.js';
import type { Product } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { eventCodec, Events, type NewEvent } from '../platform/index.js';

/** A catalog event waiting in its product document to be appended to `product-<sku>`. */
export interface PendingEvent {
  [key: string]: unknown;
  /** The event's version in the product's stream. */
  position: number;
  /** Deterministic, so an append repeated after a crash is absorbed by JetStream. */
  id: string;
  /** Fully qualified protobuf type. */
  type: string;
  /** The encoded payload, base64. */
  data: string;
}

/** How a stock move changes the product's figures. */
export interface StockDelta {
  [key: string]: number;
}

/**
 * A stock move applied to the product whose hold document does not record it yet: written by
 * the same update that moved the figures, removed once the hold document says whether the move
 * stands (see holds.ts). At most one per order and product at a time.
 */
export interface StockMark {
  [key: string]: unknown;
  /** The attempt that made the move. */
  token: string;
  /** Placing the hold, or settling it (shipping or giving back its units). */
  phase: 'hold' | 'settle';
  /** What the move added to the figures; reversed if the attempt did not stand. */
  delta: StockDelta;
}

/**
 * The stored product. Stock invariants, kept by every update: available, reserved, shipped >= 0;
 * on_hand = available + reserved; reserved = the units of held hold documents plus the holds of
 * the marks not yet decided. Shipped units have left on_hand.
 */
export interface ProductDocument {
  [key: string]: unknown;
  /** The sku. */
  _id: string;
  name: string;
  price: Money;
  onHand: number;
  available: number;
  reserved: number;
  shipped: number;
  /** Revision of the document: +1 on every catalog or stock change. */
  version: number;
  /** Catalog events recorded for the product, i.e. the version of `product-<sku>` once flushed. */
  streamVersion: number;
  createdAt: Date;
  updatedAt: Date;
  /** Stock moves in progress, keyed by `holdKey(orderId)` (absent in documents older than marks). */
  marks?: Record<string, StockMark>;
  /** How many marks there are; indexed, so the start-up repair finds the products that have some. */
  marked?: number;
  /**
   * Units held per order by releases that kept holds in the product document; they are settled
   * where they are and never added to.
   */
  holds?: Record<string, number>;
  /** Catalog events written with the document change that caused them, until appended. */
  pending: PendingEvent[];
  /** True while `pending` may hold events not yet appended; indexed by the start-up repair. */
  hasPending: boolean;
}

/** The collection of product documents. */
export const productsCollection = 'products';

export const productStream = (sku: string): string => `product-${sku}`;

/**
 * The field name of an order's mark. Field names may not contain `.` or start with `$`, so the
 * order id is percent-encoded (dots too), which keeps ordinary ids readable in the document.
 */
export function holdKey(orderId: string): string {
  return encodeURIComponent(orderId).replaceAll('.', '%2E');
}

/** The dotted path of an order's mark, for filters and updates. */
export const markPath = (orderId: string): string => `marks.${holdKey(orderId)}`;

/** The dotted path of an order's hold kept in the product document by an earlier release. */
export const legacyHoldPath = (orderId: string): string => `holds.${holdKey(orderId)}`;

/** The document's stock; its `version` is the level's revision, bumped by the same update that moved the stock. */
export function levelOf(doc: ProductDocument): StockLevel {
  return { sku: doc._id, onHand: doc.onHand, available: doc.available, reserved: doc.reserved, revision: doc.version };
}

/** The API's view of a product: stock figures, never the holds themselves. */
export function toProductMessage(doc: ProductDocument): Product {
  return {
    sku: doc._id,
    name: doc.name,
    price: { amountMinor: doc.price.amountMinor, currency: doc.price.currency },
    onHand: doc.onHand,
    available: doc.available,
    reserved: doc.reserved,
    shipped: doc.shipped,
    version: doc.version,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

/** A catalog event, tagged with its message name. */
export type CatalogEvent =
  | { type: 'ProductCreated'; data: ProductCreated }
  | { type: 'ProductRestocked'; data: ProductRestocked }
  | { type: 'ProductPriceChanged'; data: ProductPriceChanged };

const codec = eventCodec({
  ProductCreated: Events.ProductCreated,
  ProductRestocked: Events.ProductRestocked,
  ProductPriceChanged: Events.ProductPriceChanged,
});

/** The pending entry of a catalog event at `position` of the product's stream. */
export function pendingEvent(sku: string, position: number, event: CatalogEvent): PendingEvent {
  const { type, data } = codec.toNew(event);
  return { position, id: `${productStream(sku)}:${position}`, type, data: Buffer.from(data).toString('base64') };
}

/** The event store's view of a pending entry. */
export function toNewEvent(entry: PendingEvent): NewEvent {
  return { id: entry.id, type: entry.type, data: new Uint8Array(Buffer.from(entry.data, 'base64')) };
}

/** What CreateProduct asks for, validated. */
export interface NewProduct {
  sku: string;
  name: string;
  price: Money;
  onHand: number;
}

/** A new product's document, with its ProductCreated pending. */
export function createdDocument(product: NewProduct, now: Date): ProductDocument {
  const { sku, name, price, onHand } = product;
  return {
    _id: sku,
    name,
    price,
    onHand,
    available: onHand,
    reserved: 0,
    shipped: 0,
    version: 1,
    streamVersion: 1,
    createdAt: now,
    updatedAt: now,
    marks: {},
    marked: 0,
    pending: [
      pendingEvent(sku, 1, {
        type: 'ProductCreated',
        data: { sku, name, price, onHand, occurredAt: now, level: { sku, onHand, available: onHand, reserved: 0, revision: 1 } },
      }),
    ],
    hasPending: true,
  };
}
