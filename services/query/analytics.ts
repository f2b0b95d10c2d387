// Sales analytics per day, computed from the order views (pure): the figures always agree with
// the views, and a rebuilt view gives the same analytics. Days are UTC days of placement.
import type { Duration } from '../../generated/google/protobuf/duration.js';
import { CancellationReason, OrderStatus, orderStatusToJSON } from '../../generated/orderflow/orders/v1/order.js';
import type { DailySales } from '../../generated/orderflow/query/v1/query_service.js';
import type { OrderViewState } from './order-view.js';

const completedLike = new Set([OrderStatus.ORDER_STATUS_COMPLETED, OrderStatus.ORDER_STATUS_SHIPPED, OrderStatus.ORDER_STATUS_DELIVERED]);

export const dayOf = (date: Date) => new Date(date).toISOString().slice(0, 10);

/** The nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const duration = (ms: number): Duration => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });

/** An OrderStatus as Order.status names it: without its prefix, e.g. `COMPLETED`. */
export const statusName = (status: OrderStatus): string => orderStatusToJSON(status).replace(/^ORDER_STATUS_/, '');

/** A CancellationReason as Order.cancellationReason names it: without its prefix, e.g. `OUT_OF_STOCK`. */
const reasonName = (reason: CancellationReason): string => (CancellationReason[reason] ?? 'CANCELLATION_REASON_UNSPECIFIED').replace(/^CANCELLATION_REASON_/, '');

/** The currency of the orders' totals; undefined when no order has a total (no currency is invented). */
export const currencyOf = (orders: OrderViewState[]): string | undefined => orders.find((o) => o.total?.currency)?.total?.currency;

/**
 * One day's (or the whole range's) figures over the given orders. Amounts are in the first
 * order's currency, and left out when no order has one.
 */
export function salesOf(day: string, orders: OrderViewState[]): DailySales {
  const currency = currencyOf(orders);
  const money = (amountMinor: number) => (currency === undefined ? undefined : { amountMinor, currency });
  const byStatus: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let captured = 0;
  let refunded = 0;
  const completedTotals: number[] = [];
  const leadTimes: number[] = [];
  for (const o of orders) {
    const status = statusName(o.status);
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    captured += o.capturedMinor;
    refunded += o.refundedMinor;
    if (o.status === OrderStatus.ORDER_STATUS_CANCELLED) {
      const reason = reasonName(o.cancellationReason);
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    if (completedLike.has(o.status)) {
      completedTotals.push(o.total?.amountMinor ?? 0);
      if (o.placedAt && o.completedAt) leadTimes.push(new Date(o.completedAt).getTime() - new Date(o.placedAt).getTime());
    }
  }
  leadTimes.sort((a, b) => a - b);
  const average = completedTotals.length ? Math.round(completedTotals.reduce((a, b) => a + b, 0) / completedTotals.length) : 0;
  return {
    day,
    ordersByStatus: byStatus,
    revenueCaptured: money(captured),
    revenueRefunded: money(refunded),
    averageOrderValue: money(average),
    cancellationReasons: reasons,
    placedToCompletedP50: duration(percentile(leadTimes, 50)),
    placedToCompletedP95: duration(percentile(leadTimes, 95)),
  };
}

/** Every day in the range with orders, and the totals over the range. */
export function salesAnalytics(orders: OrderViewState[]): { days: DailySales[]; totals: DailySales } {
  const byDay = new Map<string, OrderViewState[]>();
  for (const o of orders) {
    if (!o.placedAt) continue;
    const day = dayOf(o.placedAt);
    byDay.set(day, [...(byDay.get(day) ?? []), o]);
  }
  const days = [...byDay.keys()].sort().map((day) => salesOf(day, byDay.get(day)!));
  return { days, totals: salesOf('total', orders.filter((o) => o.placedAt)) };
}
