// The orders service's own documents besides the event store:
// - `order_views`: one per order, the API's Order as of a stream version, written only forward
//   (version guard), so redeliveries and racing replicas converge. ListOrders and BatchGetOrders
//   read them; `stepDeadline` is the saga's timer (see timers.ts).
// - `order_secrets`: what must not travel in a public event — the card token, kept until the
//   charge command is stored in the outbox — and `checkAt`, a start-up marker written before
//   OrderPlaced, so an order whose view was never written (a crash right after the append) is
//   still found by the timer sweep.
import type { Order as OrderMessage, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { DuplicateKeyError, type Collection, type DocumentStore, type Filter, type Update } from '../platform/index.js';

export interface OrderViewDoc {
  [key: string]: unknown;
  /** The order id. */
  _id: string;
  /** The stream version `order` reflects. */
  version: number;
  customerId: string;
  status: OrderStatus;
  createdAt: Date;
  /** When the saga must look at the order again; absent when nothing is awaited. */
  stepDeadline?: Date;
  order: OrderMessage;
}

export interface SecretDoc {
  [key: string]: unknown;
  _id: string;
  paymentToken?: string;
  /** Set at placement: when the sweep should make sure the order's view exists. */
  checkAt?: Date;
}

/** The position of an order in listings: newest first, id breaking ties. */
export interface SortKey {
  createdAt: Date;
  orderId: string;
}

export interface OrderViews {
  /** Writes the view of version `order.version`, unless the same or a newer one is there. */
  save(order: OrderMessage, stepDeadline: Date | undefined): Promise<void>;
  get(orderIds: string[]): Promise<OrderViewDoc[]>;
  /** Which of these orders have a view. */
  existing(orderIds: string[]): Promise<string[]>;
  list(query: { customerId: string; statuses: OrderStatus[]; limit: number; after?: SortKey }): Promise<OrderViewDoc[]>;
  /** Orders whose step deadline has passed, earliest first. */
  overdue(now: Date, limit: number): Promise<string[]>;
  createIndexes(): Promise<void>;
}

export function orderViews(store: DocumentStore): OrderViews {
  const views: Collection<OrderViewDoc> = store.collection<OrderViewDoc>('order_views');
  return {
    async save(order, stepDeadline) {
      const fields = { version: order.version, customerId: order.customerId, status: order.status, createdAt: order.createdAt, order };
      const update: Update = stepDeadline ? { $set: { ...fields, stepDeadline } } : { $set: fields, $unset: { stepDeadline: '' } };
      try {
        await views.updateOne({ _id: order.id, version: { $lt: order.version } }, update, { upsert: true });
      } catch (err) {
        // The guard failed on an existing document: the same or a newer version is stored already.
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    },

    get: (orderIds) => views.find({ _id: { $in: orderIds } }),

    async existing(orderIds) {
      return (await views.find({ _id: { $in: orderIds } })).map((v) => v._id);
    },

    list({ customerId, statuses, limit, after }) {
      const filters: Filter[] = [];
      if (customerId) filters.push({ customerId });
      if (statuses.length > 0) filters.push({ status: { $in: statuses } });
      if (after) {
        filters.push({ $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.orderId } }] });
      }
      const filter: Filter = filters.length === 0 ? {} : filters.length === 1 ? filters[0]! : { $and: filters };
      return views.find(filter, { sort: { createdAt: -1, _id: -1 }, limit });
    },

    async overdue(now, limit) {
      const found = await views.find({ stepDeadline: { $lte: now } }, { sort: { stepDeadline: 1 }, limit });
      return found.map((v) => v._id);
    },

    async createIndexes() {
      await views.createIndex({ customerId: 1, createdAt: -1, _id: -1 }, { name: 'by_customer_newest' });
      await views.createIndex({ createdAt: -1, _id: -1 }, { name: 'newest' });
      await views.createIndex({ stepDeadline: 1 }, { name: 'saga_timers' });
    },
  };
}

export interface OrderSecrets {
  /** Keeps the token of a new order (the first write wins) and marks it for the sweep. */
  put(orderId: string, paymentToken: string, checkAt: Date): Promise<void>;
  paymentToken(orderId: string): Promise<string | undefined>;
  /** Drops the token once the command that needed it is stored. */
  forgetToken(orderId: string): Promise<void>;
  /** Orders placed at least until `now` whose view has not been confirmed by the sweep. */
  unchecked(now: Date, limit: number): Promise<string[]>;
  checked(orderIds: string[]): Promise<void>;
  /** The order was never stored (its append failed): nothing of it may stay. */
  remove(orderId: string): Promise<void>;
  createIndexes(): Promise<void>;
}

export function orderSecrets(store: DocumentStore): OrderSecrets {
  const secrets: Collection<SecretDoc> = store.collection<SecretDoc>('order_secrets');
  return {
    async put(orderId, paymentToken, checkAt) {
      try {
        await secrets.insertOne({ _id: orderId, paymentToken, checkAt });
      } catch (err) {
        // A retry with the same idempotency key: the first request's token stays.
        if (!(err instanceof DuplicateKeyError)) throw err;
      }
    },
    async paymentToken(orderId) {
      return (await secrets.findOne({ _id: orderId }))?.paymentToken;
    },
    async forgetToken(orderId) {
      await secrets.updateOne({ _id: orderId }, { $unset: { paymentToken: '' } });
    },
    async unchecked(now, limit) {
      const found = await secrets.find({ checkAt: { $lte: now } }, { sort: { checkAt: 1 }, limit });
      return found.map((s) => s._id);
    },
    async checked(orderIds) {
      if (orderIds.length > 0) await secrets.updateMany({ _id: { $in: orderIds } }, { $unset: { checkAt: '' } });
    },
    async remove(orderId) {
      await secrets.deleteOne({ _id: orderId });
    },
    async createIndexes() {
      await secrets.createIndex({ checkAt: 1 }, { name: 'unchecked' });
    },
  };
}
