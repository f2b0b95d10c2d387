// The holds of orders on products, one document per order and product. Moving stock and
// recording who holds it touch two documents, and there is no transaction spanning them, so
// every move runs as an attempt with a fresh token, in three writes:
//   1. claim: the hold document names the attempt (`token`) and the step it takes;
//   2. move: one conditional update of the product moves the figures and leaves a mark
//      { token, phase, delta } (only when the product has no mark of this order);
//   3. decide: the hold document records the outcome (`heldBy` / `settledBy` = token), but
//      only while the attempt still owns it; then the mark is removed.
// A mark is decided by the hold document alone: it stands when the document records its
// token as the outcome, and is reversed when another attempt has claimed the document since
// (that attempt can never record it). A duplicate or a redelivery that finds an attempt
// unfinished claims the hold and starts over, so nothing waits on a replica that died. The
// product keeps only marks of moves in progress, never a list of every holder.
import type { StockDelta, StockMark } from './product.js';

/**
 * - `holding`: an attempt is placing the hold;
 * - `held`: the units are held for the order;
 * - `settling`: an attempt is shipping the units or giving them back (`settle` says which);
 * - `settled`: done, the order holds nothing of the product any more;
 * - `void`: the hold was refused (too little stock) or abandoned before it was placed.
 */
export type HoldState = 'holding' | 'held' | 'settling' | 'settled' | 'void';

/** Where settled units go: back to available, or out of the warehouse. */
export type SettleKind = 'return' | 'ship';

export interface HoldDocument {
  [key: string]: unknown;
  /** `holdId(sku, orderId)`. */
  _id: string;
  sku: string;
  orderId: string;
  /** The units the order holds (or is having held) of the product. */
  units: number;
  state: HoldState;
  /** The attempt that owns the current step; a new attempt claims the document by changing it. */
  token: string;
  /** What the settle does with the units, once one has been claimed. */
  settle: SettleKind | null;
  /** The attempt whose hold stands. */
  heldBy: string | null;
  /** The attempt whose settle stands. */
  settledBy: string | null;
  updatedAt: Date;
}

/** The collection of hold documents. */
export const holdsCollection = 'holds';

/** One hold per order and product; both parts percent-encoded, so the id is unambiguous. */
export const holdId = (sku: string, orderId: string): string => `${encodeURIComponent(sku)}/${encodeURIComponent(orderId)}`;

/** What a settle of `units` adds to the product's figures. */
export function settleDelta(kind: SettleKind, units: number): StockDelta {
  return kind === 'ship' ? { reserved: -units, onHand: -units, shipped: units } : { available: units, reserved: -units };
}

/** What placing a hold of `units` adds to the product's figures. */
export const holdDelta = (units: number): StockDelta => ({ available: -units, reserved: units });

/** The figures that undo `delta`. */
export function reverse(delta: StockDelta): StockDelta {
  return Object.fromEntries(Object.entries(delta).map(([field, n]) => [field, -n]));
}

/**
 * What a mark comes to, given the hold document as it is now (read after the product showed the mark):
 * - `stands`: the document records the mark's attempt as the outcome of its phase;
 * - `void`: another attempt owns the document, or the step is over, so the mark's attempt can never record it;
 * - `open`: its attempt still owns the step and may yet record it.
 */
export function markOutcome(mark: StockMark, hold: HoldDocument | null): 'stands' | 'void' | 'open' {
  if (hold === null) return 'void';
  if ((mark.phase === 'hold' ? hold.heldBy : hold.settledBy) === mark.token) return 'stands';
  const step: HoldState = mark.phase === 'hold' ? 'holding' : 'settling';
  return hold.token === mark.token && hold.state === step ? 'open' : 'void';
}
