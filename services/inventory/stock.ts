// Stock moves of reservations. The figures live in the product document, where one conditional
// update checks availability and moves them atomically however many orders compete; who holds
// what lives in one hold document per order and product (holds.ts explains the three writes of
// an attempt). Every move is keyed by its order, so repeating it changes nothing.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type { Shortage, StockLevel } from '../../generated/orderflow/inventory/v1/events.js';
import { DuplicateKeyError, type DocumentStore, type Filter } from '../platform/index.js';
import type { StockEffect, StockWork } from './decide.js';
import {
  holdDelta,
  holdId,
  holdsCollection,
  markOutcome,
  reverse,
  settleDelta,
  type HoldDocument,
  type HoldState,
  type SettleKind,
} from './holds.js';
import {
  holdKey,
  legacyHoldPath,
  levelOf,
  markPath,
  productsCollection,
  type ProductDocument,
  type StockMark,
} from './product.js';

export interface Stock {
  /** Does the work `stockWork` planned and reports what it came to. */
  perform(orderId: string, work: StockWork, now: Date): Promise<StockEffect>;
  /** Gives back any hold the order still has on these products. */
  returnHolds(orderId: string, skus: string[], now: Date): Promise<StockLevel[]>;
  /**
   * Removes the marks that attempts which died left on products, reversing those whose attempt
   * did not stand; a mark whose attempt may still finish is left to it (or to its command's
   * redelivery). Returns how many it removed.
   */
  repairMarks(now: Date): Promise<number>;
}

export interface StockOptions {
  /** How long an attempt lets another one that owns the hold finish before taking it over. Default 50 ms. */
  takeOverAfterMs?: number;
}

// A product that keeps changing between our read and our conditional write is re-read this many
// times before the read is taken as the answer; each miss means another order moved its stock.
const maxRaces = 10;
// Attempts on one hold that keep losing it to others give up after this many rounds; the
// command's message is redelivered later.
const maxRounds = 20;

export async function createStock(store: DocumentStore, options: StockOptions = {}): Promise<Stock> {
  const products = store.collection<ProductDocument>(productsCollection);
  const holds = store.collection<HoldDocument>(holdsCollection);
  await products.createIndex({ marked: 1 });
  const takeOverAfterMs = options.takeOverAfterMs ?? 50;

  /** Moves the figures by the mark's delta and leaves the mark, unless the product has a mark of this order already. */
  const move = (sku: string, orderId: string, mark: StockMark, guard: Filter, now: Date) =>
    products.findOneAndUpdate(
      { _id: sku, [markPath(orderId)]: { $exists: false }, ...guard },
      { $inc: { ...mark.delta, version: 1, marked: 1 }, $set: { [markPath(orderId)]: mark, updatedAt: now } },
    );

  /** Removes a decided mark (if still there); the move of one that did not stand is reversed. */
  const unmark = async (sku: string, orderId: string, mark: StockMark, stands: boolean, now: Date): Promise<void> => {
    const path = markPath(orderId);
    await products.updateOne(
      { _id: sku, [`${path}.token`]: mark.token },
      stands
        ? { $unset: { [path]: '' }, $inc: { marked: -1 } }
        : { $unset: { [path]: '' }, $inc: { ...reverse(mark.delta), marked: -1, version: 1 }, $set: { updatedAt: now } },
    );
  };

  /** Decides a mark the product showed, by its hold document read now; false when its attempt may still finish. */
  const clearMark = async (sku: string, orderId: string, mark: StockMark, now: Date): Promise<boolean> => {
    const outcome = markOutcome(mark, await holds.findOne({ _id: holdId(sku, orderId) }));
    if (outcome === 'open') return false;
    await unmark(sku, orderId, mark, outcome === 'stands', now);
    return true;
  };

  /** Sets `set` on the hold while the attempt `token` owns it in state `from`; false when another attempt changed it first. */
  const advance = async (id: string, token: string, from: HoldState, set: Partial<HoldDocument>, now: Date): Promise<boolean> => {
    const { matched } = await holds.updateOne({ _id: id, token, state: from }, { $set: { ...set, updatedAt: now } });
    return matched === 1;
  };

  /** Makes a new attempt the owner of the hold as it was read; false when another changed it first. */
  const claim = (hold: HoldDocument, set: Partial<HoldDocument>, now: Date) => advance(hold._id, hold.token, hold.state, set, now);

  /**
   * Reads the hold, giving an attempt that owns a step of it a moment to finish first: a duplicate
   * running beside it should not take it over, one that died must be.
   */
  const readHold = async (id: string, waited: Set<string>): Promise<HoldDocument | null> => {
    const hold = await holds.findOne({ _id: id });
    const owned = hold?.state === 'holding' || hold?.state === 'settling';
    if (hold === null || !owned || waited.has(hold.token)) return hold;
    waited.add(hold.token);
    await delay(takeOverAfterMs);
    return holds.findOne({ _id: id });
  };

  const shortage = (sku: string, requested: number, available: number): Shortage => ({ productId: sku, requested, available });

  /** Moves and decides a hold the attempt `token` owns; 'lost' when another attempt took the hold over. */
  const place = async (orderId: string, sku: string, units: number, token: string, now: Date): Promise<StockLevel | Shortage | 'lost'> => {
    const id = holdId(sku, orderId);
    const mark: StockMark = { token, phase: 'hold', delta: holdDelta(units) };
    const abandon = () => advance(id, token, 'holding', { state: 'void' }, now);
    for (let race = 0; ; race++) {
      const moved = await move(sku, orderId, mark, { available: { $gte: units }, [legacyHoldPath(orderId)]: { $exists: false } }, now);
      if (moved) {
        const stands = await advance(id, token, 'holding', { state: 'held', heldBy: token }, now);
        await unmark(sku, orderId, mark, stands, now);
        return stands ? levelOf(moved) : 'lost';
      }
      const doc = await products.findOne({ _id: sku });
      if (!doc) return (await abandon()) ? shortage(sku, units, 0) : 'lost';
      const key = holdKey(orderId);
      // Held in the product document by an earlier release: it stays there and is settled there.
      if (doc.holds?.[key] !== undefined) return (await abandon()) ? levelOf(doc) : 'lost';
      const other = doc.marks?.[key];
      if (other) {
        if (!(await clearMark(sku, orderId, other, now))) return 'lost';
        continue;
      }
      if (doc.available < units || race >= maxRaces) return (await abandon()) ? shortage(sku, units, doc.available) : 'lost';
    }
  };

  /**
   * Holds `quantity` for the order, or reports it short. A hold the order already has counts as
   * held: it was placed by an earlier delivery of this command, or by a duplicate running now.
   */
  const holdOne = async (orderId: string, line: OrderItem, now: Date): Promise<StockLevel | Shortage> => {
    const { productId: sku, quantity } = line;
    const id = holdId(sku, orderId);
    const waited = new Set<string>();
    for (let round = 0; round < maxRounds; round++) {
      const token = randomUUID();
      // A new order has no hold yet: the first round inserts without reading; a clash reads it next round.
      const hold = round === 0 ? null : await readHold(id, waited);
      if (hold === null) {
        try {
          await holds.insertOne({ _id: id, sku, orderId, units: quantity, state: 'holding', token, settle: null, heldBy: null, settledBy: null, updatedAt: now });
        } catch (err) {
          if (err instanceof DuplicateKeyError) continue;
          throw err;
        }
      } else if (hold.state === 'holding' || hold.state === 'void') {
        if (!(await claim(hold, { state: 'holding', token, units: quantity }, now))) continue;
      } else {
        const doc = await products.findOne({ _id: sku });
        return doc ? levelOf(doc) : shortage(sku, quantity, 0);
      }
      const outcome = await place(orderId, sku, quantity, token, now);
      if (outcome !== 'lost') return outcome;
    }
    throw new Error(`the hold of order ${orderId} on ${sku} kept changing hands; the command is retried later`);
  };

  /** How much is still short of a line, without holding anything (the reservation fails anyway). */
  const checkOne = async (orderId: string, line: OrderItem): Promise<Shortage | null> => {
    const hold = await holds.findOne({ _id: holdId(line.productId, orderId) });
    if (hold && hold.heldBy !== null) return null;
    const doc = await products.findOne({ _id: line.productId });
    if (!doc) return shortage(line.productId, line.quantity, 0);
    if (doc.holds?.[holdKey(orderId)] !== undefined || doc.available >= line.quantity) return null;
    return shortage(line.productId, line.quantity, doc.available);
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

  /** A hold kept in the product document by an earlier release, settled there in one conditional update. */
  const settleInProduct = async (orderId: string, sku: string, kind: SettleKind, now: Date): Promise<StockLevel | null> => {
    const key = holdKey(orderId);
    const path = legacyHoldPath(orderId);
    for (;;) {
      const doc = await products.findOne({ _id: sku });
      if (!doc) return null;
      const units = doc.holds?.[key];
      if (units === undefined) return levelOf(doc);
      const after = await products.findOneAndUpdate(
        { _id: sku, [path]: units },
        { $inc: { ...settleDelta(kind, units), version: 1 }, $unset: { [path]: '' }, $set: { updatedAt: now } },
      );
      if (after) return levelOf(after);
    }
  };

  /** Moves and decides a settle the attempt `token` owns; 'lost' when another attempt took the hold over. */
  const unhold = async (orderId: string, hold: HoldDocument, kind: SettleKind, token: string, now: Date): Promise<StockLevel | null | 'lost'> => {
    const { sku } = hold;
    const mark: StockMark = { token, phase: 'settle', delta: settleDelta(kind, hold.units) };
    const decide = () => advance(hold._id, token, 'settling', { state: 'settled', settledBy: token }, now);
    for (;;) {
      const moved = await move(sku, orderId, mark, {}, now);
      if (moved) {
        const stands = await decide();
        await unmark(sku, orderId, mark, stands, now);
        return stands ? levelOf(moved) : 'lost';
      }
      const doc = await products.findOne({ _id: sku });
      if (!doc) return (await decide()) ? null : 'lost';
      const other = doc.marks?.[holdKey(orderId)];
      if (other && !(await clearMark(sku, orderId, other, now))) return 'lost';
    }
  };

  /**
   * Settles the order's hold on one product, moving its units as `kind` says; the level
   * afterwards, or null for an unknown product. A settle another attempt began is finished as it
   * began (the same kind), so two commands settling one hold move its units once.
   */
  const settleOne = async (orderId: string, sku: string, kind: SettleKind, now: Date): Promise<StockLevel | null> => {
    const id = holdId(sku, orderId);
    const waited = new Set<string>();
    for (let round = 0; round < maxRounds; round++) {
      const token = randomUUID();
      const hold = await readHold(id, waited);
      if (hold === null || hold.state === 'void' || hold.state === 'settled') return settleInProduct(orderId, sku, kind, now);
      if (hold.state === 'holding') {
        // A hold still being placed (by a duplicate, or an attempt that died) is abandoned; its move is reversed.
        if (!(await claim(hold, { state: 'void', token }, now))) continue;
        const doc = await products.findOne({ _id: sku });
        const mark = doc?.marks?.[holdKey(orderId)];
        if (mark) await clearMark(sku, orderId, mark, now);
        return settleInProduct(orderId, sku, kind, now);
      }
      const settle = hold.state === 'settling' && hold.settle ? hold.settle : kind;
      if (!(await claim(hold, { state: 'settling', settle, token }, now))) continue;
      const outcome = await unhold(orderId, hold, settle, token, now);
      if (outcome !== 'lost') return outcome;
    }
    throw new Error(`the hold of order ${orderId} on ${sku} kept changing hands; the command is retried later`);
  };

  const settleAll = async (orderId: string, skus: string[], kind: SettleKind, now: Date) => {
    const levels: StockLevel[] = [];
    for (const sku of skus) {
      const level = await settleOne(orderId, sku, kind, now);
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
          return { kind: 'returned', levels: await settleAll(orderId, work.lines.map((l) => l.productId), 'return', now) };
        case 'ship':
          return { kind: 'shipped', levels: await settleAll(orderId, work.lines.map((l) => l.productId), 'ship', now) };
        default: {
          const unexpected: never = work;
          throw new Error(`unknown stock work ${JSON.stringify(unexpected)}`);
        }
      }
    },
    returnHolds: (orderId, skus, now) => settleAll(orderId, skus, 'return', now),
    async repairMarks(now) {
      let removed = 0;
      for (const doc of await products.find({ marked: { $gt: 0 } })) {
        for (const [key, mark] of Object.entries(doc.marks ?? {})) {
          if (await clearMark(doc._id, decodeURIComponent(key), mark, now)) removed += 1;
        }
      }
      return removed;
    },
  };
}
