import { describe, expect, it } from 'vitest';
import type { OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type { StockLevel } from '../../generated/orderflow/inventory/v1/events.js';
import { deciderSpec } from '../platform/testing/index.js';
import {
  leftoverHolds,
  reservationDecider,
  reservationLines,
  shortageReason,
  stockWork,
  type ReservationCommand,
  type StockCommand,
  type StockEffect,
} from './decide.js';
import { evolve, initialState, type Reservation, type ReservationEvent } from './reservation.js';

const spec = deciderSpec(reservationDecider);
const orderId = 'ord_1';
const t0 = new Date('2030-01-01T10:00:00.000Z');
const t1 = new Date('2030-01-01T11:00:00.000Z');
const items: OrderItem[] = [
  { productId: 'sku-a', quantity: 2 },
  { productId: 'sku-b', quantity: 1 },
];
const levelsAfterHold: StockLevel[] = [
  { sku: 'sku-a', onHand: 10, available: 8, reserved: 2, revision: 2 },
  { sku: 'sku-b', onHand: 5, available: 4, reserved: 1, revision: 2 },
];
const levelsAfterRelease: StockLevel[] = [
  { sku: 'sku-a', onHand: 10, available: 10, reserved: 0, revision: 2 },
  { sku: 'sku-b', onHand: 5, available: 5, reserved: 0, revision: 2 },
];
const levelsAfterCommit: StockLevel[] = [
  { sku: 'sku-a', onHand: 8, available: 8, reserved: 0, revision: 2 },
  { sku: 'sku-b', onHand: 4, available: 4, reserved: 0, revision: 2 },
];

const reserve = (effect: StockEffect, lines = items): ReservationCommand => ({ type: 'ReserveStock', orderId, items: lines, now: t0, effect });
const release = (effect: StockEffect = { kind: 'none' }): ReservationCommand => ({ type: 'ReleaseStock', orderId, reason: 'payment declined', now: t1, effect });
const commit = (effect: StockEffect = { kind: 'none' }): ReservationCommand => ({ type: 'CommitStock', orderId, now: t1, effect });

const reserved: ReservationEvent = { type: 'StockReserved', data: { orderId, items, levels: levelsAfterHold, occurredAt: t0 } };
const failed: ReservationEvent = {
  type: 'StockReservationFailed',
  data: { orderId, shortages: [{ productId: 'sku-b', requested: 1, available: 0 }], reason: 'insufficient stock: sku-b (requested 1, none available)', occurredAt: t0 },
};
const released = (lines: OrderItem[] = items, levels: StockLevel[] = levelsAfterRelease): ReservationEvent => ({
  type: 'StockReleased',
  data: { orderId, items: lines, levels, occurredAt: t1 },
});
const committed = (lines: OrderItem[] = items, levels: StockLevel[] = levelsAfterCommit): ReservationEvent => ({
  type: 'StockCommitted',
  data: { orderId, items: lines, levels, occurredAt: t1 },
});
const lateRefusal = (status: string): ReservationEvent => ({
  type: 'StockReservationFailed',
  data: { orderId, shortages: [], reason: `the order's stock was already ${status} when the reservation arrived`, occurredAt: t0 },
});

const fold = (events: ReservationEvent[]): Reservation => events.reduce(evolve, initialState());

describe('reservation decider', () => {
  describe('when nothing was answered', () => {
    it('reserves every line when all were held', () => {
      spec.given([]).when(reserve({ kind: 'held', levels: levelsAfterHold })).then([reserved]);
    });

    it('answers with one line per product when the saga sent a product twice', () => {
      const twice = [{ productId: 'sku-a', quantity: 1 }, { productId: 'sku-b', quantity: 1 }, { productId: 'sku-a', quantity: 1 }];
      spec
        .given([])
        .when(reserve({ kind: 'held', levels: levelsAfterHold }, twice))
        .then([{ type: 'StockReserved', data: { orderId, items, levels: levelsAfterHold, occurredAt: t0 } }]);
    });

    it('refuses, naming every short product, when a line was short', () => {
      const shortages = [
        { productId: 'sku-a', requested: 2, available: 1 },
        { productId: 'sku-zz', requested: 1, available: 0 },
      ];
      spec
        .given([])
        .when(reserve({ kind: 'short', shortages }))
        .then([
          {
            type: 'StockReservationFailed',
            data: { orderId, shortages, reason: 'insufficient stock: sku-a (requested 2, available 1); sku-zz (requested 1, none available)', occurredAt: t0 },
          },
        ]);
    });

    it('refuses a reservation whose lines are invalid, without shortages', () => {
      spec
        .given([])
        .when(reserve({ kind: 'invalid', reason: 'the order has no items to reserve' }, []))
        .then([{ type: 'StockReservationFailed', data: { orderId, shortages: [], reason: 'the order has no items to reserve', occurredAt: t0 } }]);
    });

    it('cannot reserve without having tried the holds', () => {
      spec.given([]).when(reserve({ kind: 'none' })).thenThrows(Error, /needs a 'held' stock effect/);
    });

    it('answers a release with no items: nothing was reserved', () => {
      spec.given([]).when(release()).then([released([], [])]);
    });

    it('answers a commit with no items: nothing was reserved', () => {
      spec.given([]).when(commit()).then([committed([], [])]);
    });
  });

  describe('when stock is reserved', () => {
    it('ignores the reservation arriving again', () => {
      spec.given([reserved]).when(reserve({ kind: 'none' })).then([]);
    });

    it('releases the reserved lines with the levels after the holds were given back', () => {
      spec.given([reserved]).when(release({ kind: 'returned', levels: levelsAfterRelease })).then([released()]);
    });

    it('commits the reserved lines with the levels after shipping', () => {
      spec.given([reserved]).when(commit({ kind: 'shipped', levels: levelsAfterCommit })).then([committed()]);
    });

    it('needs the holds to have been given back before answering a release', () => {
      spec.given([reserved]).when(release({ kind: 'none' })).thenThrows(Error, /needs a 'returned' stock effect/);
    });
  });

  describe('when the reservation was refused', () => {
    it('ignores the reservation arriving again', () => {
      spec.given([failed]).when(reserve({ kind: 'none' })).then([]);
    });

    it('answers a release once, with no items', () => {
      spec.given([failed]).when(release()).then([released([], [])]);
      spec.given([failed, released([], [])]).when(release()).then([]);
    });

    it('answers a commit once, with no items', () => {
      spec.given([failed]).when(commit()).then([committed([], [])]);
      spec.given([failed, committed([], [])]).when(commit()).then([]);
    });
  });

  describe('when the stock was released', () => {
    it('ignores the release arriving again', () => {
      spec.given([reserved, released()]).when(release()).then([]);
    });

    it('ignores a duplicate reservation', () => {
      spec.given([reserved, released()]).when(reserve({ kind: 'none' })).then([]);
    });

    it('refuses a reservation that arrives after the release it was overtaken by', () => {
      spec.given([released([], [])]).when(reserve({ kind: 'none' })).then([lateRefusal('released')]);
      spec.given([released([], []), lateRefusal('released')]).when(reserve({ kind: 'none' })).then([]);
    });

    it('answers a commit after a release with no items', () => {
      spec.given([reserved, released()]).when(commit()).then([committed([], [])]);
    });
  });

  describe('when the stock was committed', () => {
    it('ignores the commit arriving again', () => {
      spec.given([reserved, committed()]).when(commit()).then([]);
    });

    it('answers a release after the commit once, with no items and nothing changed', () => {
      spec.given([reserved, committed()]).when(release()).then([released([], [])]);
      spec.given([reserved, committed(), released([], [])]).when(release()).then([]);
    });

    it('refuses a reservation that arrives after a commit without one', () => {
      spec.given([committed([], [])]).when(reserve({ kind: 'none' })).then([lateRefusal('committed')]);
    });
  });
});

describe('evolve', () => {
  it('keeps the reserved lines through release and commit, and records which commands were answered', () => {
    expect(fold([reserved])).toEqual({ status: 'reserved', orderId, items });
    expect(fold([reserved, released()])).toEqual({
      status: 'released',
      orderId,
      items,
      answered: { reserve: true, release: true, commit: false },
    });
    expect(fold([reserved, committed(), released([], [])])).toEqual({
      status: 'committed',
      orderId,
      items,
      answered: { reserve: true, release: true, commit: true },
    });
    expect(fold([failed])).toEqual({ status: 'failed', orderId, items: [], answered: { reserve: true, release: false, commit: false } });
  });
});

describe('stockWork', () => {
  const command = { type: 'ReserveStock', orderId, items, now: t0 } as const;

  it('holds the lines of a new reservation, merged per product', () => {
    const twice = [...items, { productId: 'sku-a', quantity: 3 }];
    expect(stockWork({ ...command, items: twice }, initialState())).toEqual({
      kind: 'hold',
      lines: [{ productId: 'sku-a', quantity: 5 }, { productId: 'sku-b', quantity: 1 }],
    });
  });

  it('touches no stock for invalid lines or a reservation answered before', () => {
    expect(stockWork({ ...command, items: [{ productId: 'sku-a', quantity: 0 }] }, initialState())).toEqual({
      kind: 'invalid',
      reason: 'items[0].quantity must be positive, got 0',
    });
    expect(stockWork(command, fold([reserved]))).toEqual({ kind: 'none' });
    expect(stockWork(command, fold([failed]))).toEqual({ kind: 'none' });
  });

  it('returns or ships the reserved lines only while they are reserved', () => {
    const rel = { type: 'ReleaseStock', orderId, reason: '', now: t1 } as const;
    const com = { type: 'CommitStock', orderId, now: t1 } as const;
    expect(stockWork(rel, fold([reserved]))).toEqual({ kind: 'return', lines: items });
    expect(stockWork(com, fold([reserved]))).toEqual({ kind: 'ship', lines: items });
    expect(stockWork(rel, initialState())).toEqual({ kind: 'none' });
    expect(stockWork(com, fold([reserved, committed()]))).toEqual({ kind: 'none' });
    expect(stockWork(rel, fold([reserved, committed()]))).toEqual({ kind: 'none' });
  });
});

describe('leftoverHolds', () => {
  const command: StockCommand = { type: 'ReserveStock', orderId, items: [{ productId: 'sku-c', quantity: 1 }], now: t0 };

  it('clears nothing while the order holds stock or has no answer', () => {
    expect(leftoverHolds(command, initialState())).toEqual([]);
    expect(leftoverHolds(command, fold([reserved]))).toEqual([]);
  });

  it('clears the products of the reservation and of the command once the order holds no stock', () => {
    expect(leftoverHolds(command, fold([failed]))).toEqual(['sku-c']);
    expect(leftoverHolds(command, fold([reserved, released()]))).toEqual(['sku-a', 'sku-b', 'sku-c']);
    expect(leftoverHolds({ type: 'CommitStock', orderId, now: t1 }, fold([reserved, committed()]))).toEqual(['sku-a', 'sku-b']);
  });
});

describe('reservationLines', () => {
  it('names the first invalid line', () => {
    expect(reservationLines([])).toEqual({ invalid: 'the order has no items to reserve' });
    expect(reservationLines([{ productId: 'a', quantity: 1 }, { productId: ' ', quantity: 1 }])).toEqual({ invalid: 'items[1].product_id is empty' });
    expect(reservationLines([{ productId: 'a', quantity: -2 }])).toEqual({ invalid: 'items[0].quantity must be positive, got -2' });
  });

  it('names each short product in the reason', () => {
    expect(shortageReason([{ productId: 'x', requested: 3, available: 2 }])).toBe('insufficient stock: x (requested 3, available 2)');
  });
});
