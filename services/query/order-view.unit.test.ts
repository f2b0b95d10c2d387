import { describe, expect, it } from 'vitest';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { encodeMessage, Events, type Contract } from '../platform/index.js';
import { percentile, salesOf } from './analytics.js';
import { foldOrderView, type ViewEvent } from './order-view.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, s));
let n = 0;
function ev<T>(contract: Contract<T>, value: Partial<T>, version: number, second: number): ViewEvent {
  n += 1;
  const data = (contract.codec as { fromPartial(v: Partial<T>): T }).fromPartial({ ...value, orderId: 'o1', occurredAt: at(second) } as Partial<T>);
  return { id: version ? `order-o1@${version}` : `p${n}`, type: contract.type, version, occurredAt: at(second), data: Buffer.from(encodeMessage(contract, data)).toString('base64') };
}
const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

const history = [
  ev(Events.OrderPlaced, { customerId: 'c1', customerEmail: 'a@b.c', total: eur(900), subtotal: eur(900) }, 1, 0),
  ev(Events.OrderStepStarted, { step: 'reserve_stock' }, 2, 1),
  ev(Events.OrderStepSucceeded, { step: 'reserve_stock' }, 3, 2),
  ev(Events.OrderStepStarted, { step: 'charge_payment' }, 4, 3),
  ev(Events.PaymentCaptured, { amount: eur(900) }, 0, 4),
  ev(Events.OrderStepSucceeded, { step: 'charge_payment' }, 5, 5),
  ev(Events.OrderStepStarted, { step: 'schedule_shipment' }, 6, 6),
  ev(Events.ShipmentFailed, { reason: 'JP not served' }, 0, 7),
  ev(Events.OrderStepFailed, { step: 'schedule_shipment', reason: CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED }, 7, 7),
  ev(Events.OrderCompensationStarted, { reason: CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED }, 8, 8),
  ev(Events.PaymentRefunded, { amount: eur(900) }, 0, 9),
  ev(Events.OrderCancelled, { reason: CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED, detail: 'JP not served' }, 9, 10),
];

describe('foldOrderView', () => {
  it('folds an order history into its view', () => {
    const view = foldOrderView('o1', history);
    expect(view).toMatchObject({
      status: OrderStatus.ORDER_STATUS_CANCELLED,
      version: 9,
      paymentStatus: 'REFUNDED',
      shipmentStatus: 'FAILED',
      capturedMinor: 900,
      refundedMinor: 900,
      cancellationReason: CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED,
      cancellationDetail: 'JP not served',
    });
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
    expect(view.version).toBe(3);
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
