// The Payment aggregate: one per order, event-sourced in the stream `payment-<orderId>`. Its
// events are the integration events payments publishes, so the stream is also the outbox of every
// answer the saga gets, and each event type occurs at most once per order.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import type {
  PaymentCaptured,
  PaymentDeclined,
  PaymentFailed,
  PaymentRefunded,
  PaymentRefundSkipped,
} from '../../generated/orderflow/payments/v1/events.js';

/** The event stream of one order's payment. */
export const paymentStream = (orderId: string): string => `payment-${orderId}`;

/** The payment id of an order: deterministic, so replicas and retries agree on it. */
export const paymentIdFor = (orderId: string): string => `pay_${orderId}`;

export type PaymentEvent =
  | { type: 'PaymentCaptured'; data: PaymentCaptured }
  | { type: 'PaymentDeclined'; data: PaymentDeclined }
  | { type: 'PaymentFailed'; data: PaymentFailed }
  | { type: 'PaymentRefunded'; data: PaymentRefunded }
  | { type: 'PaymentRefundSkipped'; data: PaymentRefundSkipped };

export type PaymentEventType = PaymentEvent['type'];

/**
 * Where one order's payment stands, as far as the saga has been told. Besides the outcome, the
 * state remembers whether RefundPayment has been answered, because each command is answered
 * exactly once per order.
 */
export type Payment =
  /** Nothing answered yet (no charge outcome; a charge may be in flight). */
  | { status: 'none' }
  /**
   * RefundPayment was answered "nothing captured" before any charge outcome: the order was
   * compensated before it was charged, so no charge may capture any more.
   */
  | { status: 'cancelled'; orderId: string; reason: string; cancelledAt: Date }
  | { status: 'captured'; orderId: string; paymentId: string; amount: Money; capturedAt: Date }
  | {
      status: 'declined';
      orderId: string;
      paymentId: string;
      amount: Money | undefined;
      reason: string;
      declinedAt: Date;
      /** RefundPayment was answered with PaymentRefundSkipped. */
      refundAnswered: boolean;
    }
  | { status: 'failed'; orderId: string; paymentId: string; reason: string; failedAt: Date; refundAnswered: boolean }
  | {
      status: 'refunded';
      orderId: string;
      paymentId: string;
      /** What was captured, and given back in full. */
      amount: Money;
      reason: string;
      capturedAt: Date;
      refundedAt: Date;
    };

export type PaymentStatusName = Payment['status'];

export const initialState = (): Payment => ({ status: 'none' });

// Timestamps are set on every event payments writes; the epoch stands in only for a malformed
// stored event, so folding never throws.
const at = (d: Date | undefined): Date => d ?? new Date(0);
const money = (m: Money | undefined): Money => m ?? { amountMinor: 0, currency: '' };

/** Folds one event into the state. An event that does not apply to the state leaves it unchanged. */
export function evolve(state: Payment, event: PaymentEvent): Payment {
  switch (event.type) {
    case 'PaymentCaptured': {
      if (state.status !== 'none' && state.status !== 'cancelled') return state;
      const { orderId, paymentId, amount, occurredAt } = event.data;
      return { status: 'captured', orderId, paymentId, amount: money(amount), capturedAt: at(occurredAt) };
    }
    case 'PaymentDeclined': {
      if (state.status !== 'none' && state.status !== 'cancelled') return state;
      const { orderId, paymentId, amount, reason, occurredAt } = event.data;
      return { status: 'declined', orderId, paymentId, amount, reason, declinedAt: at(occurredAt), refundAnswered: state.status === 'cancelled' };
    }
    case 'PaymentFailed': {
      if (state.status !== 'none' && state.status !== 'cancelled') return state;
      const { orderId, paymentId, reason, occurredAt } = event.data;
      return { status: 'failed', orderId, paymentId, reason, failedAt: at(occurredAt), refundAnswered: state.status === 'cancelled' };
    }
    case 'PaymentRefunded': {
      if (state.status !== 'captured') return state;
      const { reason, occurredAt } = event.data;
      return { ...state, status: 'refunded', reason, refundedAt: at(occurredAt) };
    }
    case 'PaymentRefundSkipped': {
      const { orderId, reason, occurredAt } = event.data;
      switch (state.status) {
        case 'none':
          return { status: 'cancelled', orderId, reason, cancelledAt: at(occurredAt) };
        case 'declined':
        case 'failed':
          return { ...state, refundAnswered: true };
        case 'cancelled':
        case 'captured':
        case 'refunded':
          return state;
      }
    }
    default: {
      const unexpected: never = event;
      throw new Error(`unknown payment event ${JSON.stringify(unexpected)}`);
    }
  }
}
