// The order view read model, folded one event at a time. Each field is guarded so that the result
// depends on the set of events only, not on the order or how often they arrive: order-stream
// fields by stream version, payment and shipment states by rank, step times per step, sums by the
// ids of the events already folded. So applying an event to the stored view equals a replay of
// every event in stream order, without keeping the events themselves.
import type { Money, PricedItem } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { decodeMessage, Events } from '../platform/index.js';

/** An event as the fold takes it: its identity, where it sorts, and its decoded payload. */
export interface FoldEvent {
  /** The event's identity: `<event-store stream>@<version>`; a copy under another message id is the same event. */
  id: string;
  type: string;
  /** Position in the order's own stream for order events; 0 for a participant's event. */
  version: number;
  /** When it happened. */
  occurredAt: Date;
  data: Record<string, unknown>;
}

/** An event as published: the payload is base64 protobuf (what views of the earlier shape kept). */
export interface ViewEvent extends Omit<FoldEvent, 'data'> {
  data: string;
}

/** What the query API returns for an order. */
export interface OrderViewState {
  orderId: string;
  customerId: string;
  customerEmail: string;
  status: OrderStatus;
  items: PricedItem[];
  subtotal: Money | undefined;
  total: Money | undefined;
  paymentStatus: string;
  shipmentStatus: string;
  trackingNumber: string;
  cancellationReason: CancellationReason;
  cancellationDetail: string;
  stepTimes: Record<string, Date>;
  /**
   * The order-stream version up to which every order event is folded in: what read-your-writes
   * waits for. Events delivered out of order do not raise it past one still missing.
   */
  version: number;
  placedAt: Date | undefined;
  completedAt: Date | undefined;
  updatedAt: Date | undefined;
  capturedMinor: number;
  refundedMinor: number;
}

/** Decodes a published event for the fold. */
export const decodeViewEvent = (e: ViewEvent): FoldEvent => ({ ...e, data: decodeMessage(e.type, Buffer.from(e.data, 'base64')) as Record<string, unknown> });
const short = (type: string) => type.split('.').at(-1) ?? type;

const stepStatus: Record<string, OrderStatus> = {
  reserve_stock: OrderStatus.ORDER_STATUS_STOCK_RESERVED,
  charge_payment: OrderStatus.ORDER_STATUS_PAYMENT_CAPTURED,
  schedule_shipment: OrderStatus.ORDER_STATUS_SHIPMENT_SCHEDULED,
};

/**
 * Payment and shipment states by how far they got: a later event never moves them back. Every
 * event has a rank of its own, so the state does not depend on the order events are folded in
 * (a voided charge's late decline can arrive before or after the refund that voided it).
 */
const paymentRank: Record<string, [number, string]> = {
  PaymentFailed: [1, 'FAILED'],
  PaymentDeclined: [2, 'DECLINED'],
  PaymentRefundSkipped: [3, 'NOT_CHARGED'],
  PaymentCaptured: [4, 'CAPTURED'],
  PaymentRefunded: [5, 'REFUNDED'],
};
const shipmentRank: Record<string, [number, string]> = {
  ShipmentFailed: [1, 'FAILED'],
  ShipmentScheduled: [2, 'SCHEDULED'],
  ShipmentCancelled: [3, 'CANCELLED'],
  ShipmentDispatched: [4, 'DISPATCHED'],
  ShipmentDelivered: [5, 'DELIVERED'],
};

/**
 * A view with what its guards need. Stored with it, small: event ids, not payloads.
 * Both lists are kept sorted, so equal sets of events give deep-equal views.
 */
/** An order event that set the status: its stream version and the status it set. */
export interface StatusMark {
  version: number;
  status: OrderStatus;
}

export interface OrderViewFold extends OrderViewState {
  /** The ids of the events folded in: folding one of them again changes nothing. */
  applied: string[];
  /** The order events that set the status, by stream version (objects: not every store keeps nested arrays). */
  statusMarks: StatusMark[];
  /** The order-stream versions folded in, ascending (`version` is the end of their gap-free start). */
  orderVersions: number[];
  /** The order-stream version each step time was taken from. */
  stepVersions: Record<string, number>;
}

export const emptyView = (orderId: string): OrderViewFold => ({
  orderId,
  customerId: '',
  customerEmail: '',
  status: OrderStatus.ORDER_STATUS_UNSPECIFIED,
  items: [],
  subtotal: undefined,
  total: undefined,
  paymentStatus: '',
  shipmentStatus: '',
  trackingNumber: '',
  cancellationReason: CancellationReason.CANCELLATION_REASON_UNSPECIFIED,
  cancellationDetail: '',
  stepTimes: {},
  version: 0,
  placedAt: undefined,
  completedAt: undefined,
  updatedAt: undefined,
  capturedMinor: 0,
  refundedMinor: 0,
  applied: [],
  statusMarks: [],
  orderVersions: [],
  stepVersions: {},
});

const stepStatuses = new Set(Object.values(stepStatus));
const progressing = (status: OrderStatus) => status === OrderStatus.ORDER_STATUS_PLACED || stepStatuses.has(status);

/**
 * The status the marks lead to in stream order. A step's success moves it only while the order
 * progresses: a late reply recorded after compensation began (or after the end) does not.
 */
function statusOf(marks: StatusMark[]): OrderStatus {
  let status = OrderStatus.ORDER_STATUS_UNSPECIFIED;
  for (const { status: next } of marks) if (!stepStatuses.has(next) || progressing(status)) status = next;
  return status;
}

const rankOf = (ranks: Record<string, [number, string]>, status: string) => Object.values(ranks).find(([, s]) => s === status)?.[0] ?? 0;

/** The highest v such that versions 1..v are all in the ascending list; 0 when 1 is not. */
function gapFreeEnd(versions: readonly number[]): number {
  let end = 0;
  for (const v of versions) {
    if (v > end + 1) break;
    end = Math.max(end, v);
  }
  return end;
}

/** A copy of a sorted list with `item` in its place. */
function insertSorted<T>(list: readonly T[], item: T, before: (a: T, b: T) => boolean): T[] {
  const at = list.findIndex((x) => before(item, x));
  return at < 0 ? [...list, item] : [...list.slice(0, at), item, ...list.slice(at)];
}

const stepOutcome: Record<string, string> = {
  OrderStepSucceeded: 'succeeded',
  OrderStepFailed: 'failed',
  OrderStepTimedOut: 'timed_out',
  OrderStepCompensated: 'compensated',
};

/**
 * Folds one more event into a view; an event already folded (same id) changes nothing. The
 * result is the same whatever order a set of events is folded in, so it is the view of a replay.
 */
export function evolveOrderView(view: OrderViewFold, event: FoldEvent): OrderViewFold {
  if (view.applied.includes(event.id)) return view;
  const { version, occurredAt, data } = event;
  const next: OrderViewFold = {
    ...view,
    applied: insertSorted(view.applied, event.id, (a, b) => a < b),
    stepTimes: { ...view.stepTimes },
    stepVersions: { ...view.stepVersions },
  };
  if (!next.updatedAt || new Date(occurredAt).getTime() > new Date(next.updatedAt).getTime()) next.updatedAt = occurredAt;
  if (version > 0) {
    next.orderVersions = insertSorted(view.orderVersions, version, (a, b) => a < b);
    next.version = gapFreeEnd(next.orderVersions);
  }
  const mark = (status: OrderStatus) => {
    next.statusMarks = insertSorted(view.statusMarks, { version, status }, (a, b) => a.version < b.version);
    next.status = statusOf(next.statusMarks);
  };
  /** Takes this event's time for `key` unless an event earlier (`first`) or later (`last`) in the stream holds it; says whether it did. */
  const stepTime = (key: string, keep: 'first' | 'last'): boolean => {
    const held = next.stepVersions[key];
    if (held !== undefined && (keep === 'first' ? held < version : held > version)) return false;
    next.stepTimes[key] = occurredAt; // no dots in keys: they are field paths in the store
    next.stepVersions[key] = version;
    return true;
  };
  const type = short(event.type);
  switch (type) {
    case 'OrderPlaced': {
      const placed = data as unknown as ReturnType<typeof Events.OrderPlaced.codec.decode>;
      if (stepTime('placed', 'last')) {
        Object.assign(next, {
          customerId: placed.customerId,
          customerEmail: placed.customerEmail,
          items: placed.items,
          subtotal: placed.subtotal,
          total: placed.total,
          placedAt: occurredAt,
        });
      }
      mark(OrderStatus.ORDER_STATUS_PLACED);
      break;
    }
    case 'OrderStepStarted':
      // A step started again (a retried undo) keeps the time it first started.
      stepTime(`${String(data.step)}:${data.compensation === true ? 'compensating' : 'started'}`, 'first');
      break;
    case 'OrderStepSucceeded':
    case 'OrderStepFailed':
    case 'OrderStepTimedOut':
    case 'OrderStepCompensated': {
      const step = String(data.step);
      stepTime(`${step}:${stepOutcome[type]}`, 'first');
      const reached = stepStatus[step];
      if (type === 'OrderStepSucceeded' && reached !== undefined) mark(reached);
      break;
    }
    case 'OrderCancellationRequested':
      stepTime('cancellation_requested', 'first');
      break;
    case 'OrderCompensationStarted':
      stepTime('compensating', 'first');
      mark(OrderStatus.ORDER_STATUS_COMPENSATING);
      break;
    case 'OrderCompleted':
      if (stepTime('completed', 'last')) next.completedAt = occurredAt;
      mark(OrderStatus.ORDER_STATUS_COMPLETED);
      break;
    case 'OrderCancelled':
      if (stepTime('cancelled', 'last')) {
        next.cancellationReason = data.reason as CancellationReason;
        next.cancellationDetail = String(data.detail ?? '');
      }
      mark(OrderStatus.ORDER_STATUS_CANCELLED);
      break;
    case 'OrderShipped':
      if (stepTime('shipped', 'last')) next.trackingNumber = String(data.trackingNumber ?? '');
      mark(OrderStatus.ORDER_STATUS_SHIPPED);
      break;
    case 'OrderDelivered':
      stepTime('delivered', 'last');
      mark(OrderStatus.ORDER_STATUS_DELIVERED);
      break;
    default: {
      const amount = Number((data.amount as Money | undefined)?.amountMinor ?? 0);
      if (type === 'PaymentCaptured') next.capturedMinor += amount;
      if (type === 'PaymentRefunded') next.refundedMinor += amount;
      const payment = paymentRank[type];
      if (payment && payment[0] >= rankOf(paymentRank, next.paymentStatus)) next.paymentStatus = payment[1];
      const shipment = shipmentRank[type];
      if (shipment && shipment[0] >= rankOf(shipmentRank, next.shipmentStatus)) next.shipmentStatus = shipment[1];
      // The order's own OrderShipped names the parcel when it is there; until then, the carrier's dispatch does.
      if (type === 'ShipmentDispatched' && next.stepVersions.shipped === undefined) next.trackingNumber ||= String(data.trackingNumber ?? '');
    }
  }
  return next;
}

/** The view of an order from its events, in any order, duplicates and all. */
export function foldOrderView(orderId: string, events: ViewEvent[]): OrderViewFold {
  return events.reduce((view, event) => evolveOrderView(view, decodeViewEvent(event)), emptyView(orderId));
}
