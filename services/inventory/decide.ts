// The decisions about one order's stock, free of I/O. Stock lives in the product documents, so a
// command is handled in three steps (see reservations.ts): `stockWork` says what to do to the
// products given the reservation's state, the store does it atomically per product, and
// `decide` turns what happened into the one answer the saga gets.
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type { Shortage, StockLevel } from '../../generated/orderflow/inventory/v1/events.js';
import { evolve, initialState, type Reservation, type ReservationEvent } from './reservation.js';

/** A stock command as the saga sent it; `now` is the handler's clock. */
export type StockCommand =
  | { type: 'ReserveStock'; orderId: string; items: OrderItem[]; now: Date }
  | { type: 'ReleaseStock'; orderId: string; reason: string; now: Date }
  | { type: 'CommitStock'; orderId: string; now: Date };

/** What to do to the product documents before answering. */
export type StockWork =
  | { kind: 'none' }
  /** A ReserveStock whose lines cannot be reserved at all; it is refused without touching stock. */
  | { kind: 'invalid'; reason: string }
  /** Place one hold per line, all or nothing (holds are not undone before the answer is stored). */
  | { kind: 'hold'; lines: OrderItem[] }
  /** Give the order's holds back to available stock. */
  | { kind: 'return'; lines: OrderItem[] }
  /** Turn the order's holds into shipped units. */
  | { kind: 'ship'; lines: OrderItem[] };

/** What the stock work came to, with the levels of the products afterwards. */
export type StockEffect =
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'held'; levels: StockLevel[] }
  | { kind: 'short'; shortages: Shortage[] }
  | { kind: 'returned'; levels: StockLevel[] }
  | { kind: 'shipped'; levels: StockLevel[] };

/** A command together with the effect its stock work had: what `decide` answers. */
export type ReservationCommand = StockCommand & { effect: StockEffect };

/** Lines of a ReserveStock, one per product in first-seen order, or why it cannot be reserved. */
export function reservationLines(items: OrderItem[]): { lines: OrderItem[] } | { invalid: string } {
  if (items.length === 0) return { invalid: 'the order has no items to reserve' };
  const bySku = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    if (item.productId.trim() === '') return { invalid: `items[${i}].product_id is empty` };
    if (!Number.isSafeInteger(item.quantity) || item.quantity < 1) {
      return { invalid: `items[${i}].quantity must be positive, got ${item.quantity}` };
    }
    // Two lines of one product are one hold: the saga may send them apart, stock does not care.
    bySku.set(item.productId, (bySku.get(item.productId) ?? 0) + item.quantity);
  }
  return { lines: [...bySku].map(([productId, quantity]) => ({ productId, quantity })) };
}

/** What a command needs done to the products, given the reservation so far. */
export function stockWork(command: StockCommand, state: Reservation): StockWork {
  switch (command.type) {
    case 'ReserveStock': {
      if (state.status !== 'none') return { kind: 'none' };
      const parsed = reservationLines(command.items);
      return 'invalid' in parsed ? { kind: 'invalid', reason: parsed.invalid } : { kind: 'hold', lines: parsed.lines };
    }
    case 'ReleaseStock':
      return state.status === 'reserved' ? { kind: 'return', lines: state.items } : { kind: 'none' };
    case 'CommitStock':
      return state.status === 'reserved' ? { kind: 'ship', lines: state.items } : { kind: 'none' };
    default: {
      const unexpected: never = command;
      throw new Error(`unknown stock command ${JSON.stringify(unexpected)}`);
    }
  }
}

/**
 * The products whose holds for this order must be given back once its answer is stored: every
 * product the command or the reservation touched, whenever the reservation no longer holds
 * stock. A hold can be left there by a replica that crashed after placing it, or by a duplicate
 * of ReserveStock that read the stream before the answer and placed its hold after the clean-up;
 * each handler clears such holds after it has seen the answer, so none outlives its order.
 */
export function leftoverHolds(command: StockCommand, after: Reservation): string[] {
  if (after.status === 'none' || after.status === 'reserved') return [];
  const skus = new Set(after.items.map((i) => i.productId));
  if (command.type === 'ReserveStock') {
    const parsed = reservationLines(command.items);
    if ('lines' in parsed) for (const line of parsed.lines) skus.add(line.productId);
  }
  return [...skus];
}

/** The reason of a refusal for lack of stock, naming each short product. */
export function shortageReason(shortages: Shortage[]): string {
  const parts = shortages.map((s) =>
    s.available === 0 && s.requested > 0
      ? `${s.productId} (requested ${s.requested}, none available)`
      : `${s.productId} (requested ${s.requested}, available ${s.available})`,
  );
  return `insufficient stock: ${parts.join('; ')}`;
}

function effectOf<K extends StockEffect['kind']>(command: ReservationCommand, kind: K): Extract<StockEffect, { kind: K }> {
  if (command.effect.kind !== kind) {
    throw new Error(`${command.type} for ${command.orderId} needs a '${kind}' stock effect, got '${command.effect.kind}'`);
  }
  return command.effect as Extract<StockEffect, { kind: K }>;
}

function decideReserve(command: Extract<ReservationCommand, { type: 'ReserveStock' }>, state: Reservation): ReservationEvent[] {
  const { orderId, now } = command;
  switch (state.status) {
    case 'none': {
      const { effect } = command;
      if (effect.kind === 'invalid') {
        return [{ type: 'StockReservationFailed', data: { orderId, shortages: [], reason: effect.reason, occurredAt: now } }];
      }
      if (effect.kind === 'short') {
        const reason = shortageReason(effect.shortages);
        return [{ type: 'StockReservationFailed', data: { orderId, shortages: effect.shortages, reason, occurredAt: now } }];
      }
      const { levels } = effectOf(command, 'held');
      const parsed = reservationLines(command.items);
      if (!('lines' in parsed)) throw new Error(`ReserveStock for ${orderId} was held although its items are invalid`);
      return [{ type: 'StockReserved', data: { orderId, items: parsed.lines, levels, occurredAt: now } }];
    }
    case 'reserved':
      return [];
    case 'failed':
    case 'released':
    case 'committed':
      if (state.answered.reserve) return [];
      // The saga gave up on this reservation (released or committed it) before the command
      // arrived: holding stock now would leak it, so the late command is refused.
      return [
        {
          type: 'StockReservationFailed',
          data: { orderId, shortages: [], reason: `the order's stock was already ${state.status} when the reservation arrived`, occurredAt: now },
        },
      ];
    default: {
      const unexpected: never = state;
      throw new Error(`unknown reservation state ${JSON.stringify(unexpected)}`);
    }
  }
}

function decideRelease(command: Extract<ReservationCommand, { type: 'ReleaseStock' }>, state: Reservation): ReservationEvent[] {
  const { orderId, now } = command;
  const nothing: ReservationEvent = { type: 'StockReleased', data: { orderId, items: [], levels: [], occurredAt: now } };
  switch (state.status) {
    case 'none':
      // Nothing was reserved: the saga still gets its one answer, so compensation can move on.
      return [nothing];
    case 'reserved':
      return [{ type: 'StockReleased', data: { orderId, items: state.items, levels: effectOf(command, 'returned').levels, occurredAt: now } }];
    case 'failed':
    case 'released':
    case 'committed':
      // After a commit the units have left the warehouse: releasing changes nothing.
      return state.answered.release ? [] : [nothing];
    default: {
      const unexpected: never = state;
      throw new Error(`unknown reservation state ${JSON.stringify(unexpected)}`);
    }
  }
}

function decideCommit(command: Extract<ReservationCommand, { type: 'CommitStock' }>, state: Reservation): ReservationEvent[] {
  const { orderId, now } = command;
  const nothing: ReservationEvent = { type: 'StockCommitted', data: { orderId, items: [], levels: [], occurredAt: now } };
  switch (state.status) {
    case 'none':
      // A commit without a reservation ships nothing; the handler logs it as a saga fault.
      return [nothing];
    case 'reserved':
      return [{ type: 'StockCommitted', data: { orderId, items: state.items, levels: effectOf(command, 'shipped').levels, occurredAt: now } }];
    case 'failed':
    case 'released':
    case 'committed':
      return state.answered.commit ? [] : [nothing];
    default: {
      const unexpected: never = state;
      throw new Error(`unknown reservation state ${JSON.stringify(unexpected)}`);
    }
  }
}

/** The answer to a command, or none when it was answered before (a duplicate or a redelivery). */
export function decide(command: ReservationCommand, state: Reservation): ReservationEvent[] {
  switch (command.type) {
    case 'ReserveStock':
      return decideReserve(command, state);
    case 'ReleaseStock':
      return decideRelease(command, state);
    case 'CommitStock':
      return decideCommit(command, state);
    default: {
      const unexpected: never = command;
      throw new Error(`unknown stock command ${JSON.stringify(unexpected)}`);
    }
  }
}

/** The reservation decider, for `deciderSpec`. */
export const reservationDecider = { decide, evolve, initialState };
