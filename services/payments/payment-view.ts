// How a payment is shown: the stream's state mapped to the listing view, and a record plus a view
// mapped to the API's Payment message. Pure.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { PaymentStatus, type Payment as PaymentMessage } from '../../generated/orderflow/payments/v1/payments_service.js';
import { paymentIdFor, type Payment } from './payment.js';
import { pendingView, type PaymentRecord, type PaymentView } from './records.js';

/** The view of a state; `now` is used only while nothing has been answered. */
export function viewOf(state: Payment, now: Date): PaymentView {
  switch (state.status) {
    case 'none':
      return pendingView(now);
    case 'cancelled':
      // The API has no CANCELLED status: nothing was captured, and no charge will be tried.
      return { status: 'failed', declineReason: state.reason, captured: null, refunded: null, updatedAt: state.cancelledAt };
    case 'captured':
      return { status: 'captured', declineReason: '', captured: state.amount, refunded: null, updatedAt: state.capturedAt };
    case 'declined':
      return { status: 'declined', declineReason: state.reason, captured: null, refunded: null, updatedAt: state.declinedAt };
    case 'failed':
      return { status: 'failed', declineReason: state.reason, captured: null, refunded: null, updatedAt: state.failedAt };
    case 'refunded':
      return { status: 'refunded', declineReason: '', captured: state.amount, refunded: state.amount, updatedAt: state.refundedAt };
    default: {
      const unexpected: never = state;
      throw new Error(`unknown payment state ${JSON.stringify(unexpected)}`);
    }
  }
}

const statusOf: Record<PaymentView['status'], PaymentStatus> = {
  pending: PaymentStatus.PAYMENT_STATUS_PENDING,
  captured: PaymentStatus.PAYMENT_STATUS_CAPTURED,
  declined: PaymentStatus.PAYMENT_STATUS_DECLINED,
  failed: PaymentStatus.PAYMENT_STATUS_FAILED,
  refunded: PaymentStatus.PAYMENT_STATUS_REFUNDED,
};

const zero = (currency: string): Money => ({ amountMinor: 0, currency });

/** The API's Payment: who and how much from the record, where it stands from the view. */
export function toPaymentMessage(record: PaymentRecord, view: PaymentView): PaymentMessage {
  const amount = record.amount ?? undefined;
  const currency = amount?.currency ?? view.captured?.currency ?? '';
  return {
    paymentId: paymentIdFor(record._id),
    orderId: record._id,
    customerId: record.customerId ?? '',
    amount,
    status: statusOf[view.status],
    declineReason: view.declineReason,
    captured: view.captured ?? zero(currency),
    refunded: view.refunded ?? zero(currency),
    attempts: record.attempts,
    createdAt: record.createdAt,
    updatedAt: view.updatedAt,
  };
}
