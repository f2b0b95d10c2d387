// The payment record of an order (collection `payments`, one document per order): what the
// integration events do not carry. Two kinds of fields share it:
// - facts written with single-document atomic updates, which the charge and refund handlers use
//   to coordinate (`chargeStarted`, `refundRequest`), plus the charge request and gateway ids;
// - the listing view: the stream's state as of `version`, written only forward (version guard),
//   so redeliveries and racing replicas converge.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { DuplicateKeyError, type Collection, type DocumentStore, type Filter, type Update } from '../platform/index.js';

/** What the listing shows of the stream's state. */
export interface PaymentView {
  status: 'pending' | 'captured' | 'declined' | 'failed' | 'refunded';
  declineReason: string;
  captured: Money | null;
  refunded: Money | null;
  updatedAt: Date;
}

/** A RefundPayment received, kept so that a charge still in flight gives the money back once it completes. */
export interface RefundRequest {
  reason: string;
  requestedAt: Date;
  /** The RefundPayment message, the causation of the answer given later. */
  causationId: string;
}

export interface PaymentRecord {
  [key: string]: unknown;
  /** The order id. */
  _id: string;
  /** Set by the first ChargePayment; a record without it is not a payment (yet). */
  customerId?: string;
  amount?: Money | null;
  /** When the charge was first requested; the listing's sort key. */
  createdAt?: Date;
  /** A charge was claimed: it may be at the gateway now; set only while no refund was requested. */
  chargeStarted: boolean;
  /** Gateway calls made for the charge. */
  attempts: number;
  /** The gateway's id of the capture, needed to refund it. */
  chargeId?: string;
  refundRequest?: RefundRequest;
  /** The stream version `view` reflects. */
  version: number;
  view: PaymentView;
}

export interface PaymentRecords {
  get(orderId: string): Promise<PaymentRecord | null>;
  /** Records who pays how much; a repeated ChargePayment carries the same values. */
  requestCharge(orderId: string, customerId: string, amount: Money | undefined, now: Date): Promise<void>;
  /**
   * Claims the gateway call and counts it. Refused (false) when a refund was requested before any
   * charge started: then no charge may start, ever. Once started, later claims (retries) pass.
   */
  claimCharge(orderId: string): Promise<boolean>;
  recordChargeId(orderId: string, chargeId: string): Promise<void>;
  /** Keeps the first refund request of the order. */
  requestRefund(orderId: string, request: RefundRequest, now: Date): Promise<void>;
  /** Writes the view of stream version `version`, unless a newer one is there already. */
  saveView(orderId: string, version: number, view: PaymentView): Promise<void>;
  /** Payments (records with a charge request), newest first, after the `after` sort key. */
  list(query: { customerId: string; limit: number; after?: SortKey }): Promise<PaymentRecord[]>;
  createIndexes(): Promise<void>;
}

/** The position of a record in the listing: newest first, order id breaking ties. */
export interface SortKey {
  createdAt: Date;
  orderId: string;
}

export const pendingView = (now: Date): PaymentView => ({ status: 'pending', declineReason: '', captured: null, refunded: null, updatedAt: now });

const fresh = (now: Date) => ({ chargeStarted: false, attempts: 0, version: 0, view: pendingView(now) });

export function paymentRecords(store: DocumentStore): PaymentRecords {
  const records: Collection<PaymentRecord> = store.collection<PaymentRecord>('payments');

  // MongoDB may fail one of two racing upserts of a new _id with a duplicate key, while the other
  // inserted it; the update then applies to the document that exists.
  const upsert = async (filter: Filter, update: Update): Promise<void> => {
    try {
      await records.updateOne(filter, update, { upsert: true });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      await records.updateOne(filter, update);
    }
  };

  return {
    get: (orderId) => records.findOne({ _id: orderId }),

    requestCharge: (orderId, customerId, amount, now) =>
      upsert({ _id: orderId }, { $set: { customerId, amount: amount ?? null }, $min: { createdAt: now }, $setOnInsert: fresh(now) }),

    async claimCharge(orderId) {
      const claimed = await records.findOneAndUpdate(
        { _id: orderId, $or: [{ refundRequest: { $exists: false } }, { chargeStarted: true }] },
        { $set: { chargeStarted: true }, $inc: { attempts: 1 } },
      );
      return claimed !== null;
    },

    async recordChargeId(orderId, chargeId) {
      await records.updateOne({ _id: orderId }, { $set: { chargeId } });
    },

    async requestRefund(orderId, request, now) {
      try {
        await records.updateOne(
          { _id: orderId, refundRequest: { $exists: false } },
          { $set: { refundRequest: request }, $setOnInsert: fresh(now) },
          { upsert: true },
        );
      } catch (err) {
        // The record exists with an earlier refund request (or a racing upsert wrote this one): first wins.
        if (!(err instanceof DuplicateKeyError)) throw err;
        await records.updateOne({ _id: orderId, refundRequest: { $exists: false } }, { $set: { refundRequest: request } });
      }
    },

    async saveView(orderId, version, view) {
      await records.updateOne({ _id: orderId, version: { $lt: version } }, { $set: { version, view } });
    },

    list({ customerId, limit, after }) {
      const filter: Filter = customerId ? { customerId } : { customerId: { $exists: true } };
      const page: Filter = after
        ? { $and: [filter, { $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.orderId } }] }] }
        : filter;
      return records.find(page, { sort: { createdAt: -1, _id: -1 }, limit });
    },

    async createIndexes() {
      await records.createIndex({ customerId: 1, createdAt: -1, _id: -1 }, { name: 'by_customer_newest' });
      await records.createIndex({ createdAt: -1, _id: -1 }, { name: 'newest' });
    },
  };
}
