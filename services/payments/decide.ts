// What a payment does with each fact the handlers bring: a charge outcome from the card gateway,
// a refund the gateway made, or a refund request with nothing to give back. Pure: the clock and
// the gateway's answers arrive as parameters; the handlers do the I/O (see payments.ts).
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { IllegalStateError } from '../platform/index.js';
import { evolve, initialState, paymentIdFor, type Payment, type PaymentEvent } from './payment.js';

/** How a charge ended: the gateway approved or declined it, or payments gave up on a gateway that kept failing. */
export type ChargeResult = { status: 'approved' } | { status: 'declined'; reason: string } | { status: 'failed'; reason: string };

export type PaymentCommand =
  /** The outcome of ChargePayment; the first outcome of an order stands. */
  | { type: 'RecordCharge'; orderId: string; amount: Money | undefined; result: ChargeResult; now: Date }
  /** The gateway refunded the captured amount. */
  | { type: 'RecordRefund'; orderId: string; reason: string; now: Date }
  /** RefundPayment found nothing captured and no charge in flight (or voided the one in flight: `reason`). */
  | { type: 'SkipRefund'; orderId: string; now: Date; reason?: string };

/** What RefundPayment has to do next in a state: see `nextRefundStep`. */
export type RefundStep = 'refund' | 'skip' | 'await-charge' | 'done';

/**
 * The next step of a refund request. A charge in flight (claimed, no outcome yet) must be waited
 * for: skipping now could let a capture that completes afterwards keep the money, refunding now
 * would refund without a capture. The charge handler settles the request once its outcome is
 * stored, so waiting means "acknowledge and let the charge answer".
 */
export function nextRefundStep(state: Payment, chargeInFlight: boolean): RefundStep {
  switch (state.status) {
    case 'none':
      return chargeInFlight ? 'await-charge' : 'skip';
    case 'captured':
      return 'refund';
    case 'declined':
    case 'failed':
      return state.refundAnswered ? 'done' : 'skip';
    case 'cancelled':
    case 'refunded':
      return 'done';
    default: {
      const unexpected: never = state;
      throw new Error(`unknown payment state ${JSON.stringify(unexpected)}`);
    }
  }
}

/** True while ChargePayment still needs an outcome (nothing answered, or only the refund). */
export const needsChargeOutcome = (state: Payment): boolean => state.status === 'none' || state.status === 'cancelled';

export function decide(command: PaymentCommand, state: Payment): PaymentEvent[] {
  switch (command.type) {
    case 'RecordCharge':
      return recordCharge(command, state);
    case 'RecordRefund':
      return recordRefund(command, state);
    case 'SkipRefund':
      return skipRefund(command, state);
    default: {
      const unexpected: never = command;
      throw new Error(`unknown payment command ${JSON.stringify(unexpected)}`);
    }
  }
}

export const paymentDecider = { decide, evolve, initialState };

type CommandOf<T extends PaymentCommand['type']> = Extract<PaymentCommand, { type: T }>;

function recordCharge(command: CommandOf<'RecordCharge'>, state: Payment): PaymentEvent[] {
  // The gateway is idempotent per order, so a repeated outcome is the same outcome: answered once.
  if (!needsChargeOutcome(state)) return [];
  const { orderId, amount, result, now } = command;
  const paymentId = paymentIdFor(orderId);
  switch (result.status) {
    case 'approved':
      // After 'cancelled' this cannot happen (a charge never starts once a refund was requested,
      // see payments.ts); were it to, the capture is recorded so the standing refund request
      // gives it back, rather than hiding money the gateway holds.
      if (!amount) throw new IllegalStateError(`payment of order ${orderId}: a capture needs an amount`);
      return [{ type: 'PaymentCaptured', data: { orderId, paymentId, amount, occurredAt: now } }];
    case 'declined':
      return [{ type: 'PaymentDeclined', data: { orderId, paymentId, amount, reason: result.reason, occurredAt: now } }];
    case 'failed':
      return [{ type: 'PaymentFailed', data: { orderId, paymentId, reason: result.reason, occurredAt: now } }];
    default: {
      const unexpected: never = result;
      throw new Error(`unknown charge result ${JSON.stringify(unexpected)}`);
    }
  }
}

function recordRefund(command: CommandOf<'RecordRefund'>, state: Payment): PaymentEvent[] {
  switch (state.status) {
    case 'captured':
      return [
        {
          type: 'PaymentRefunded',
          data: { orderId: state.orderId, paymentId: state.paymentId, amount: state.amount, reason: command.reason, occurredAt: command.now },
        },
      ];
    case 'refunded':
      return [];
    case 'none':
    case 'cancelled':
    case 'declined':
    case 'failed':
      throw new IllegalStateError(`payment of order ${command.orderId} is ${state.status}: no refund without a capture`);
    default: {
      const unexpected: never = state;
      throw new Error(`unknown payment state ${JSON.stringify(unexpected)}`);
    }
  }
}

function skipRefund(command: CommandOf<'SkipRefund'>, state: Payment): PaymentEvent[] {
  const skipped = (reason: string): PaymentEvent[] => [
    { type: 'PaymentRefundSkipped', data: { orderId: command.orderId, reason, occurredAt: command.now } },
  ];
  switch (state.status) {
    case 'none':
      return skipped(command.reason ?? 'no captured payment: the refund was requested before any charge');
    case 'declined':
    case 'failed':
      return state.refundAnswered ? [] : skipped(`no captured payment: the charge ${state.status === 'declined' ? 'was declined' : 'failed'}`);
    case 'cancelled':
    case 'refunded':
      return [];
    case 'captured':
      throw new IllegalStateError(`payment of order ${command.orderId} is captured: it must be refunded, not skipped`);
    default: {
      const unexpected: never = state;
      throw new Error(`unknown payment state ${JSON.stringify(unexpected)}`);
    }
  }
}
