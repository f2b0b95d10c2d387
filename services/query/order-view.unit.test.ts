import { describe, expect, it } from 'vitest';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { Events, type Contract } from '../platform/index.js';
import { percentile, salesOf } from './analytics.js';
import { at, cancelledHistory, cancelledView, eur, viewEvent } from './order-view.fixtures.js';
import { decodeViewEvent, emptyView, evolveOrderView, foldOrderView, type FoldEvent, type OrderViewFold, type ViewEvent } from './order-view.js';

const history = cancelledHistory('o1');
/** An event of order o1 (see viewEvent). */
const ev = <T>(contract: Contract<T>, value: Partial<T>, stream: 'order' | 'payment' | 'shipment', version: number, second: number) =>
  viewEvent('o1', contract, value, stream, version, second);

describe('foldOrderView', () => {
  it('folds an order history into its view', () => {
    const view = foldOrderView('o1', history);
    expect(view).toMatchObject(cancelledView);
    expect(view.stepTimes['charge_payment:succeeded']).toEqual(at(5));
  });

  it('gives the same view for shuffled and duplicated deliveries', () => {
    const expected = foldOrderView('o1', history);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...history, ...history.slice(0, 5)].sort(() => Math.random() - 0.5);
      expect(foldOrderView('o1', shuffled)).toEqual(expected);
    }
  });

  it('keeps a partial view consistent: a later status needs its events, not their arrival order', () => {
    const view = foldOrderView('o1', [history[2]!, history[0]!]);
    expect(view.status).toBe(OrderStatus.ORDER_STATUS_STOCK_RESERVED);
    // Version 2 is missing: read-your-writes must not take the view as caught up past version 1.
    expect(view.version).toBe(1);
    expect(foldOrderView('o1', [history[2]!, history[0]!, history[1]!]).version).toBe(3);
  });
});

describe('analytics', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 95)).toBe(40);
    expect(percentile([], 50)).toBe(0);
  });

  it('sums revenue and counts statuses and reasons of a day', () => {
    const cancelled = foldOrderView('o1', history);
    const sales = salesOf('2026-11-23', [cancelled]);
    expect(sales).toMatchObject({
      ordersByStatus: { CANCELLED: 1 },
      revenueCaptured: eur(900),
      revenueRefunded: eur(900),
      averageOrderValue: eur(0),
      cancellationReasons: { SHIPMENT_FAILED: 1 },
    });
  });
});

/** Every ordering of `items`. */
function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (const [i, first] of items.entries()) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [first, ...rest];
  }
}

/** A view as a string that ignores key order (stepTimes fill in arrival order). */
const canonical = (view: OrderViewFold) => JSON.stringify(view, (_key, value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : value));

/** Events in the order a replay of the order's stream folds them: order events by version, the participants' by time. */
const sorted = (events: ViewEvent[]) => [...events].sort((a, b) => a.version - b.version || a.occurredAt.getTime() - b.occurredAt.getTime());

const decoded = new Map<ViewEvent, FoldEvent>();
/** Folds the events one at a time, as the projection does, returning the view after each. */
function incrementally(events: ViewEvent[]): OrderViewFold[] {
  const views: OrderViewFold[] = [];
  let view = emptyView('o1');
  for (const e of events) {
    if (!decoded.has(e)) decoded.set(e, decodeViewEvent(e));
    views.push((view = evolveOrderView(view, decoded.get(e)!)));
  }
  return views;
}

/**
 * Checks that every arrival order of `events`, with one of them delivered twice, gives after each
 * event the view of the events so far folded in stream order, and ends in `expected`.
 */
function expectOrderIndependent(events: ViewEvent[], expected: Partial<OrderViewFold>) {
  const inStreamOrder = incrementally(sorted(events)).at(-1)!;
  expect(inStreamOrder).toMatchObject(expected);
  const index = new Map(events.map((e, i) => [e.id, i]));
  const bySubset = new Map<number, string>(); // the replay's view of each subset of the events, by bit mask
  const replayOf = (mask: number) => {
    let view = bySubset.get(mask);
    if (view === undefined) bySubset.set(mask, (view = canonical(incrementally(sorted(events.filter((_, i) => mask & (1 << i)))).at(-1)!)));
    return view;
  };
  let count = 0;
  for (const arrival of permutations(events)) {
    const again = arrival[count % arrival.length]!;
    const delivered = [...arrival];
    delivered.splice((count * 7) % (arrival.length + 1), 0, again); // a redelivery somewhere, before or after the first
    let mask = 0;
    for (const [i, view] of incrementally(delivered).entries()) {
      mask |= 1 << index.get(delivered[i]!.id)!;
      if (canonical(view) !== replayOf(mask)) {
        expect(view, `after ${delivered.slice(0, i + 1).map((e) => e.id).join(' ')}`).toEqual(incrementally(sorted(events.filter((_, j) => mask & (1 << j)))).at(-1));
      }
    }
    count++;
  }
  expect(count).toBeGreaterThan(1);
}

describe('folding one event at a time', () => {
  // Every permutation of 7 events, checked after each event: seconds, not milliseconds.
  const exhaustive = { timeout: 30_000 };

  it('gives the stream-order view for every arrival order of a compensated order with a late reply and a retried undo', exhaustive, () => {
    const events = [
      ev(Events.OrderPlaced, { customerId: 'c1', customerEmail: 'a@b.c', total: eur(900), subtotal: eur(900) }, 'order', 1, 0),
      ev(Events.OrderCompensationStarted, { reason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT }, 'order', 6, 6),
      ev(Events.OrderStepSucceeded, { step: 'charge_payment' }, 'order', 7, 7), // late: after compensation began
      ev(Events.OrderStepStarted, { step: 'reserve_stock', compensation: true, attempt: 1 }, 'order', 8, 8),
      ev(Events.OrderStepStarted, { step: 'reserve_stock', compensation: true, attempt: 2 }, 'order', 9, 12), // the undo retried
      ev(Events.PaymentCaptured, { amount: eur(900) }, 'payment', 1, 7),
      ev(Events.OrderCancelled, { reason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT, detail: 'charge_payment timed out' }, 'order', 10, 14),
    ];
    // Read off the events in stream order: the late success does not move a compensating order.
    expectOrderIndependent(events, {
      customerId: 'c1',
      status: OrderStatus.ORDER_STATUS_CANCELLED,
      // versions 2-5 are not among these events: read-your-writes counts only version 1
      version: 1,
      paymentStatus: 'CAPTURED',
      capturedMinor: 900,
      refundedMinor: 0,
      cancellationReason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT,
      cancellationDetail: 'charge_payment timed out',
      placedAt: at(0),
      updatedAt: at(14),
      stepTimes: {
        placed: at(0),
        compensating: at(6),
        'charge_payment:succeeded': at(7),
        'reserve_stock:compensating': at(8),
        cancelled: at(14),
      },
    });
    // Before the cancellation arrives, in whatever order the rest came: compensating, not moved by the late success.
    const beforeCancel = events.filter((e) => e.type !== Events.OrderCancelled.type);
    for (const arrival of [beforeCancel, [...beforeCancel].reverse()]) expect(incrementally(arrival).at(-1)!.status).toBe(OrderStatus.ORDER_STATUS_COMPENSATING);
  });

  it('gives the stream-order view for every arrival order of a delivered order', exhaustive, () => {
    const events = [
      ev(Events.OrderPlaced, { customerId: 'c1', customerEmail: 'a@b.c', total: eur(500), subtotal: eur(500) }, 'order', 1, 0),
      ev(Events.OrderStepSucceeded, { step: 'reserve_stock' }, 'order', 3, 1),
      ev(Events.PaymentCaptured, { amount: eur(500) }, 'payment', 1, 2),
      ev(Events.OrderCompleted, { total: eur(500) }, 'order', 7, 4),
      ev(Events.ShipmentDispatched, { trackingNumber: 'TRK-1' }, 'shipment', 2, 5),
      ev(Events.OrderShipped, { trackingNumber: 'TRK-1' }, 'order', 8, 6),
      ev(Events.OrderDelivered, {}, 'order', 9, 8),
    ];
    expectOrderIndependent(events, {
      status: OrderStatus.ORDER_STATUS_DELIVERED,
      // versions 2 and 4-6 are not among these events: read-your-writes counts only version 1
      version: 1,
      paymentStatus: 'CAPTURED',
      shipmentStatus: 'DISPATCHED',
      trackingNumber: 'TRK-1',
      capturedMinor: 500,
      completedAt: at(4),
      updatedAt: at(8),
      stepTimes: { placed: at(0), 'reserve_stock:succeeded': at(1), completed: at(4), shipped: at(6), delivered: at(8) },
    });
  });

  it('folds the whole history of the first test the same in any order, each event counted once', () => {
    const expected = incrementally(sorted(history)).at(-1)!;
    for (let round = 0; round < 50; round++) {
      const arrival = [...history, ...history.slice(round % 7, (round % 7) + 4)].sort(() => Math.random() - 0.5);
      expect(incrementally(arrival).at(-1)).toEqual(expected);
    }
    expect(expected.applied).toHaveLength(history.length);
  });
});
