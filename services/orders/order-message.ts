// How an order looks from outside: the API's Order message folded from the state, and one line
// per event for the order's history.
import {
  CancellationReason,
  cancellationReasonToJSON,
  OrderStatus,
  type Order as OrderMessage,
} from '../../generated/orderflow/orders/v1/order.js';
import type { OrderHistoryEntry } from '../../generated/orderflow/orders/v1/orders_service.js';
import type { StoredEvent } from '../platform/index.js';
import { currentStep, orderCodec, type Order, type OrderEvent, type PlacedOrder } from './order.js';
import { stepDefinitions } from './saga.js';

/** The API status of a state. While the saga runs, the last step that succeeded names it. */
export function statusOf(state: Order): OrderStatus {
  switch (state.status) {
    case 'none':
      return OrderStatus.ORDER_STATUS_UNSPECIFIED;
    case 'running': {
      const done = state.plan.filter((step) => state.steps[step]?.state === 'succeeded');
      const last = done.at(-1);
      return last ? stepDefinitions[last].reached : OrderStatus.ORDER_STATUS_PLACED;
    }
    case 'compensating':
      return OrderStatus.ORDER_STATUS_COMPENSATING;
    case 'completed':
      return OrderStatus.ORDER_STATUS_COMPLETED;
    case 'shipped':
      return OrderStatus.ORDER_STATUS_SHIPPED;
    case 'delivered':
      return OrderStatus.ORDER_STATUS_DELIVERED;
    case 'cancelled':
      return OrderStatus.ORDER_STATUS_CANCELLED;
    default: {
      const unexpected: never = state;
      throw new Error(`unknown order state ${JSON.stringify(unexpected)}`);
    }
  }
}

/** The API's Order at stream version `version`. */
export function toOrderMessage(state: PlacedOrder, version: number): OrderMessage {
  const cause = state.status === 'compensating' || state.status === 'cancelled' ? state : undefined;
  return {
    id: state.id,
    customerId: state.customerId,
    customerEmail: state.customerEmail,
    status: statusOf(state),
    items: state.items,
    subtotal: state.subtotal,
    total: state.total,
    shippingAddress: state.address,
    cancellationReason: cause?.reason ?? CancellationReason.CANCELLATION_REASON_UNSPECIFIED,
    cancellationDetail: cause?.detail ?? '',
    currentStep: currentStep(state) ?? '',
    trackingNumber: state.status === 'shipped' || state.status === 'delivered' ? state.trackingNumber : '',
    version,
    createdAt: state.placedAt,
    updatedAt: state.updatedAt,
  };
}

const reasonText = (reason: CancellationReason): string =>
  cancellationReasonToJSON(reason).replace('CANCELLATION_REASON_', '').toLowerCase().replaceAll('_', ' ');

/** One line for people, e.g. "step reserve_stock succeeded". */
export function summarize(event: OrderEvent): string {
  switch (event.type) {
    case 'OrderPlaced': {
      const { items, total } = event.data;
      return `placed: ${items.length} line(s), total ${total?.amountMinor ?? 0} ${total?.currency ?? ''} (minor units)`.trimEnd();
    }
    case 'OrderStepStarted': {
      const { step, compensation, attempt } = event.data;
      const again = attempt > 1 ? ` (attempt ${attempt})` : '';
      return compensation ? `undoing step ${step}${again}` : `step ${step} started`;
    }
    case 'OrderStepSucceeded':
      return `step ${event.data.step} succeeded`;
    case 'OrderStepFailed':
      return `step ${event.data.step} failed: ${event.data.detail}`;
    case 'OrderStepTimedOut':
      return `step ${event.data.step} timed out`;
    case 'OrderCancellationRequested':
      return `cancellation requested: ${event.data.detail}`;
    case 'OrderCompensationStarted':
      return `compensation started (${reasonText(event.data.reason)})`;
    case 'OrderStepCompensated':
      return `step ${event.data.step} undone`;
    case 'OrderCompleted':
      return 'completed';
    case 'OrderCancelled':
      return `cancelled (${reasonText(event.data.reason)}): ${event.data.detail}`;
    case 'OrderShipped':
      return `shipped, tracking number ${event.data.trackingNumber}`;
    case 'OrderDelivered':
      return 'delivered';
    default: {
      const unexpected: never = event;
      throw new Error(`unknown order event ${JSON.stringify(unexpected)}`);
    }
  }
}

/** A stored event as a history entry: its version, type, time and summary. */
export function historyEntry(stored: StoredEvent): OrderHistoryEntry {
  const event = orderCodec.fromStored(stored);
  return {
    version: stored.version,
    type: stored.type,
    occurredAt: event.data.occurredAt ?? stored.committedAt,
    summary: summarize(event),
  };
}
