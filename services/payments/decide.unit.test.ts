import { describe, expect, it } from 'vitest';
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { IllegalStateError } from '../platform/index.js';
import { deciderSpec } from '../platform/testing/index.js';
import { nextRefundStep, paymentDecider, type ChargeResult, type PaymentCommand } from './decide.js';
import { evolve, initialState, type PaymentEvent } from './payment.js';
import { invalidChargeReason } from './payments.js';

const spec = deciderSpec(paymentDecider);

const orderId = 'ord_1';
const paymentId = 'pay_ord_1';
const amount: Money = { amountMinor: 4999, currency: 'EUR' };
const t0 = new Date('2030-01-01T10:00:00.000Z');
const t1 = new Date('2030-01-01T10:00:31.000Z');

const charge = (result: ChargeResult, now = t0): PaymentCommand => ({ type: 'RecordCharge', orderId, amount, result, now });
const approved = charge({ status: 'approved' });
const refund: PaymentCommand = { type: 'RecordRefund', orderId, reason: 'order cancelled by customer', now: t1 };
const skip: PaymentCommand = { type: 'SkipRefund', orderId, now: t1 };

const captured: PaymentEvent = { type: 'PaymentCaptured', data: { orderId, paymentId, amount, occurredAt: t0 } };
const declined: PaymentEvent = {
  type: 'PaymentDeclined',
  data: { orderId, paymentId, amount, reason: 'card declined: insufficient funds', occurredAt: t0 },
};
const failed: PaymentEvent = { type: 'PaymentFailed', data: { orderId, paymentId, reason: 'gateway unavailable', occurredAt: t0 } };
const refunded: PaymentEvent = {
  type: 'PaymentRefunded',
  data: { orderId, paymentId, amount, reason: 'order cancelled by customer', occurredAt: t1 },
};
const skipped = (reason: string, occurredAt = t1): PaymentEvent => ({ type: 'PaymentRefundSkipped', data: { orderId, reason, occurredAt } });
const skippedBeforeCharge = skipped('no captured payment: the refund was requested before any charge', t0);

describe('when nothing was answered', () => {
  it('records an approved charge as PaymentCaptured of the amount', () => spec.given([]).when(approved).then([captured]));

  it('records a declined charge as PaymentDeclined with the gateway reason', () =>
    spec.given([]).when(charge({ status: 'declined', reason: 'card declined: insufficient funds' })).then([declined]));

  it('records giving up on the gateway as PaymentFailed with the last error', () =>
    spec.given([]).when(charge({ status: 'failed', reason: 'gateway unavailable' })).then([failed]));

  it('refuses to refund: no refund without a capture', () =>
    spec.given([]).when(refund).thenThrows(IllegalStateError, /no refund without a capture/));

  it('answers a refund request that no charge precedes with PaymentRefundSkipped', () =>
    spec.given([]).when(skip).then([skipped('no captured payment: the refund was requested before any charge')]));

  it('refuses a capture without an amount', () =>
    spec.given([]).when({ ...approved, amount: undefined } as PaymentCommand).thenThrows(IllegalStateError, /needs an amount/));
});

describe('when captured', () => {
  it('ignores a repeated outcome: one capture per order', () => spec.given([captured]).when(approved).then([]));

  it('ignores a different later outcome: the first one stands', () =>
    spec.given([captured]).when(charge({ status: 'failed', reason: 'late failure' })).then([]));

  it('refunds the captured amount with the reason given', () => spec.given([captured]).when(refund).then([refunded]));

  it('never skips the refund of a capture', () => spec.given([captured]).when(skip).thenThrows(IllegalStateError, /must be refunded/));
});

describe('when refunded', () => {
  it('refunds once', () => spec.given([captured, refunded]).when(refund).then([]));
  it('ignores a repeated charge outcome', () => spec.given([captured, refunded]).when(approved).then([]));
  it('has nothing to skip', () => spec.given([captured, refunded]).when(skip).then([]));
  it('keeps what was captured and when', () =>
    spec.given([captured]).when(refund).thenState((s) =>
      expect(s).toEqual({ status: 'refunded', orderId, paymentId, amount, reason: 'order cancelled by customer', capturedAt: t0, refundedAt: t1 }),
    ));
});

describe('when declined or failed', () => {
  it('answers RefundPayment with PaymentRefundSkipped naming the outcome, once', () => {
    spec.given([declined]).when(skip).then([skipped('no captured payment: the charge was declined')]);
    spec.given([failed]).when(skip).then([skipped('no captured payment: the charge failed')]);
    spec.given([declined, skipped('x')]).when(skip).then([]);
  });

  it('refuses to refund', () => {
    spec.given([declined]).when(refund).thenThrows(IllegalStateError, /declined: no refund without a capture/);
    spec.given([failed]).when(refund).thenThrows(IllegalStateError, /failed: no refund without a capture/);
  });

  it('ignores a later approval (the charge handler refunds such an orphan capture at the gateway)', () =>
    spec.given([failed]).when(approved).then([]));
});

describe('when the refund was answered before any charge (cancelled)', () => {
  it('records the charge that was then refused, as PaymentFailed', () =>
    spec
      .given([skippedBeforeCharge])
      .when(charge({ status: 'failed', reason: 'charge cancelled' }, t1))
      .then([{ type: 'PaymentFailed', data: { orderId, paymentId, reason: 'charge cancelled', occurredAt: t1 } }]));

  it('does not answer the refund again', () => spec.given([skippedBeforeCharge]).when(skip).then([]));

  it('counts the refund as answered once the charge outcome follows', () =>
    spec
      .given([skippedBeforeCharge])
      .when(charge({ status: 'failed', reason: 'charge cancelled' }, t1))
      .thenState((s) => expect(s).toMatchObject({ status: 'failed', refundAnswered: true })));

  it('records a capture should one ever happen, so the standing refund request gives it back', () =>
    spec.given([skippedBeforeCharge]).when(approved).then([captured]));
});

describe('nextRefundStep', () => {
  const stateOf = (...events: PaymentEvent[]) => events.reduce(evolve, initialState());

  it('waits for a charge in flight, skips when none is', () => {
    expect(nextRefundStep(stateOf(), true)).toBe('await-charge');
    expect(nextRefundStep(stateOf(), false)).toBe('skip');
  });

  it('refunds a capture, once', () => {
    expect(nextRefundStep(stateOf(captured), true)).toBe('refund');
    expect(nextRefundStep(stateOf(captured, refunded), true)).toBe('done');
  });

  it('skips after a decline or failure, once', () => {
    expect(nextRefundStep(stateOf(declined), true)).toBe('skip');
    expect(nextRefundStep(stateOf(failed), false)).toBe('skip');
    expect(nextRefundStep(stateOf(failed, skipped('x')), false)).toBe('done');
    expect(nextRefundStep(stateOf(skippedBeforeCharge), false)).toBe('done');
  });
});

describe('invalidChargeReason', () => {
  it('accepts a positive amount in a known currency', () => expect(invalidChargeReason(amount)).toBeUndefined());
  it('names the bad field', () => {
    expect(invalidChargeReason(undefined)).toBe('invalid charge request: amount: is required');
    expect(invalidChargeReason({ amountMinor: 0, currency: 'EUR' })).toBe('invalid charge request: amount.amount_minor: must be at least 1');
    expect(invalidChargeReason({ amountMinor: 5, currency: 'XXX' })).toMatch(/^invalid charge request: amount.currency: must be one of EUR/);
  });
});
