// Stock moves of reservations on the product documents. Each move is one conditional update of
// one document, so the availability check and the change are atomic however many orders compete
// for a product, and each is keyed by the order's hold marker, so repeating it changes nothing.
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type { Shortage, StockLevel } from '../../generated/orderflow/inventory/v1/events.js';
import type { DocumentStore } from '../platform/index.js';
import type { StockEffect, StockWork } from './decide.js';
import { holdKey, holdPath, levelOf, productsCollection, type ProductDocument } from './product.js';

export interface Stock {
  /** Does the work `stockWork` planned and reports what it came to. */
  perform(orderId: string, work: StockWork, now: Date): Promise<StockEffect>;
  /** Gives back any hold the order still has on these products. */
  returnHolds(orderId: string, skus: string[], now: Date): Promise<StockLevel[]>;
}

// A product that keeps changing between our read and our conditional write is re-read this many
// times before the read is taken as the answer; each miss means another order moved its stock.
const maxRaces = 10;

export function createStock(store: DocumentStore): Stock {
  const products = store.collection<ProductDocument>(productsCollection);

  /**
   * Holds `quantity` for the order, or reports it short. A hold the order already has counts as
   * held: it was placed by an earlier delivery of this command, or by a duplicate running now.
   */
  const holdOne = async (orderId: string, line: OrderItem, now: Date): Promise<StockLevel | Shortage> => {
    const { productId: sku, quantity } = line;
    const path = holdPath(orderId);
    for (let race = 0; ; race++) {
      const held = await products.findOneAndUpdate(
        { _id: sku, available: { $gte: quantity }, [path]: { $exists: false } },
        { $inc: { available: -quantity, reserved: quantity, version: 1 }, $set: { [path]: quantity, updatedAt: now } },
      );
      if (held) return levelOf(held);
      const doc = await products.findOne({ _id: sku });
      if (!doc) return { productId: sku, requested: quantity, available: 0 };
      if (doc.holds[holdKey(orderId)] !== undefined) return levelOf(doc);
      if (doc.available < quantity || race >= maxRaces) return { productId: sku, requested: quantity, available: doc.available };
    }
  };

  /** How much is still short of a line, without holding anything (the reservation fails anyway). */
  const checkOne = async (orderId: string, line: OrderItem): Promise<Shortage | null> => {
    const doc = await products.findOne({ _id: line.productId });
    if (!doc) return { productId: line.productId, requested: line.quantity, available: 0 };
    if (doc.holds[holdKey(orderId)] !== undefined || doc.available >= line.quantity) return null;
    return { productId: line.productId, requested: line.quantity, available: doc.available };
  };

  /**
   * Holds every line, or reports the short ones. After the first shortage the remaining lines are
   * only checked: holding them would take stock from other orders for a reservation that fails.
   * Holds already placed stay until the answer is stored (then `returnHolds` clears them), so
   * every handler of this order sees the same holds and none undoes another's.
   */
  const hold = async (orderId: string, lines: OrderItem[], now: Date): Promise<StockEffect> => {
    const levels: StockLevel[] = [];
    const shortages: Shortage[] = [];
    for (const line of lines) {
      if (shortages.length > 0) {
        const short = await checkOne(orderId, line);
        if (short) shortages.push(short);
        continue;
      }
      const outcome = await holdOne(orderId, line, now);
      if ('productId' in outcome) shortages.push(outcome);
      else levels.push(outcome);
    }
    return shortages.length > 0 ? { kind: 'short', shortages } : { kind: 'held', levels };
  };

  /**
   * Removes the order's hold from one product, moving its units with `inc(units)`; the level
   * afterwards, or null for an unknown product. The hold's size is read first and the removal
   * is conditional on it, so two handlers removing the same hold move its units once.
   */
  const settleHold = async (
    orderId: string,
    sku: string,
    inc: (units: number) => Record<string, number>,
    now: Date,
  ): Promise<StockLevel | null> => {
    const key = holdKey(orderId);
    const path = holdPath(orderId);
    for (;;) {
      const doc = await products.findOne({ _id: sku });
      if (!doc) return null;
      const units = doc.holds[key];
      if (units === undefined) return levelOf(doc);
      const after = await products.findOneAndUpdate(
        { _id: sku, [path]: units },
        { $inc: { ...inc(units), version: 1 }, $unset: { [path]: '' }, $set: { updatedAt: now } },
      );
      if (after) return levelOf(after);
    }
  };

  const giveBack = (units: number) => ({ available: units, reserved: -units });
  const ship = (units: number) => ({ reserved: -units, onHand: -units, shipped: units });

  const settleAll = async (orderId: string, skus: string[], inc: (units: number) => Record<string, number>, now: Date) => {
    const levels: StockLevel[] = [];
    for (const sku of skus) {
      const level = await settleHold(orderId, sku, inc, now);
      if (level) levels.push(level);
    }
    return levels;
  };

  return {
    async perform(orderId, work, now) {
      switch (work.kind) {
        case 'none':
          return { kind: 'none' };
        case 'invalid':
          return { kind: 'invalid', reason: work.reason };
        case 'hold':
          return hold(orderId, work.lines, now);
        case 'return':
          return { kind: 'returned', levels: await settleAll(orderId, work.lines.map((l) => l.productId), giveBack, now) };
        case 'ship':
          return { kind: 'shipped', levels: await settleAll(orderId, work.lines.map((l) => l.productId), ship, now) };
        default: {
          const unexpected: never = work;
          throw new Error(`unknown stock work ${JSON.stringify(unexpected)}`);
        }
      }
    },
    returnHolds: (orderId, skus, now) => settleAll(orderId, skus, giveBack, now),
  };
}
