// The order view read model, as a pure fold over the events that concern one order. The view
// document keeps those events (each once, by event id), so whatever order they arrive in and
// however often, the view is this fold over them, sorted: equal to a replay by construction.
import type { Money, PricedItem } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { decodeMessage, Events } from '../platform/index.js';

/** One event kept by a view: where it sorts, and its payload as published. */
export interface ViewEvent {
  id: string;
  type: string;
  /** Position in the order's own stream for order events; 0 for a participant's event. */
  version: number;
  /** When it happened; participants' events sort by it. */
  occurredAt: Date;
  /** Base64 protobuf. */
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
  /** The highest order-stream version folded in: what read-your-writes waits for. */
  version: number;
  placedAt: Date | undefined;
  completedAt: Date | undefined;
  updatedAt: Date | undefined;
  capturedMinor: number;
  refundedMinor: number;
}

const decode = (e: ViewEvent) => decodeMessage(e.type, Buffer.from(e.data, 'base64')) as Record<string, unknown>;
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

export const emptyView = (orderId: string): OrderViewState => ({
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
});

/** The view of an order from its events: order events in stream order, then the participants'. */
export function foldOrderView(orderId: string, events: ViewEvent[]): OrderViewState {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  const sorted = unique.sort(
    (a, b) => a.version - b.version || new Date(a.occurredAt).getTime() - new Date(b.occurredAt).getTime() || a.id.localeCompare(b.id),
  );
  const view = emptyView(orderId);
  let paymentRankSeen = 0;
  let shipmentRankSeen = 0;
  for (const event of sorted) {
    const type = short(event.type);
    const data = decode(event);
    if (!view.updatedAt || event.occurredAt > view.updatedAt) view.updatedAt = event.occurredAt;
    if (event.version > 0) view.version = Math.max(view.version, event.version);
    switch (type) {
      case 'OrderPlaced': {
        const placed = data as unknown as ReturnType<typeof Events.OrderPlaced.codec.decode>;
        Object.assign(view, {
          customerId: placed.customerId,
          customerEmail: placed.customerEmail,
          items: placed.items,
          subtotal: placed.subtotal,
          total: placed.total,
          placedAt: event.occurredAt,
          status: OrderStatus.ORDER_STATUS_PLACED,
        });
        view.stepTimes.placed = event.occurredAt;
        break;
      }
      case 'OrderStepStarted':
      case 'OrderStepSucceeded':
      case 'OrderStepFailed':
      case 'OrderStepTimedOut':
      case 'OrderStepCompensated': {
        const step = String(data.step);
        const compensation = data.compensation === true;
        const what = { OrderStepStarted: compensation ? 'compensating' : 'started', OrderStepSucceeded: 'succeeded', OrderStepFailed: 'failed', OrderStepTimedOut: 'timed_out', OrderStepCompensated: 'compensated' }[type];
        view.stepTimes[`${step}:${what}`] ??= event.occurredAt; // no dots: they are field paths in the store
        // A late reply recorded after compensation began (or after the end) does not move the status.
        const progressing = view.status === OrderStatus.ORDER_STATUS_PLACED || Object.values(stepStatus).includes(view.status);
        if (type === 'OrderStepSucceeded' && progressing) {
          view.status = stepStatus[step] ?? view.status;
        }
        break;
      }
      case 'OrderCancellationRequested':
        view.stepTimes.cancellation_requested ??= event.occurredAt;
        break;
      case 'OrderCompensationStarted':
        view.status = OrderStatus.ORDER_STATUS_COMPENSATING;
        view.stepTimes.compensating ??= event.occurredAt;
        break;
      case 'OrderCompleted':
        view.status = OrderStatus.ORDER_STATUS_COMPLETED;
        view.completedAt = event.occurredAt;
        view.stepTimes.completed = event.occurredAt;
        break;
      case 'OrderCancelled':
        view.status = OrderStatus.ORDER_STATUS_CANCELLED;
        view.cancellationReason = data.reason as CancellationReason;
        view.cancellationDetail = String(data.detail ?? '');
        view.stepTimes.cancelled = event.occurredAt;
        break;
      case 'OrderShipped':
        view.status = OrderStatus.ORDER_STATUS_SHIPPED;
        view.trackingNumber = String(data.trackingNumber ?? '');
        view.stepTimes.shipped = event.occurredAt;
        break;
      case 'OrderDelivered':
        view.status = OrderStatus.ORDER_STATUS_DELIVERED;
        view.stepTimes.delivered = event.occurredAt;
        break;
      default: {
        const payment = paymentRank[type];
        if (payment) {
          if (type === 'PaymentCaptured') view.capturedMinor += Number((data.amount as Money | undefined)?.amountMinor ?? 0);
          if (type === 'PaymentRefunded') view.refundedMinor += Number((data.amount as Money | undefined)?.amountMinor ?? 0);
          if (payment[0] >= paymentRankSeen) [paymentRankSeen, view.paymentStatus] = payment;
        }
        const shipment = shipmentRank[type];
        if (shipment && shipment[0] >= shipmentRankSeen) {
          [shipmentRankSeen, view.shipmentStatus] = shipment;
          if (type === 'ShipmentDispatched') view.trackingNumber ||= String(data.trackingNumber ?? '');
        }
      }
    }
  }
  return view;
}
