// The saga's commands through a real nats-server and one payments replica started by bootPayments:
// every answer, the retry and timeout paths of the simulated gateway, and poison messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Commands, encodeMessage } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { eur, startPaymentsHarness, type PaymentsHarness } from './test-harness.js';
import { voidedReason } from './simulated-gateway.js';

let h: PaymentsHarness;
beforeAll(async () => {
  h = await startPaymentsHarness();
});
afterAll(() => h.close());

const types = (orderId: string) => h.answers(orderId).map((o) => o.type);

describe('ChargePayment', () => {
  it('captures tok_ok once and answers PaymentCaptured, caused by the command', async () => {
    const id = await h.charge('ord_ok', 'tok_ok', { amount: eur(4999) });
    const [answer] = await h.waitForAnswers('ord_ok', 1);
    expect(answer).toMatchObject({
      id: 'ord_ok:PaymentCaptured',
      type: 'PaymentCaptured',
      causationId: id,
      data: { orderId: 'ord_ok', paymentId: 'pay_ord_ok', amount: eur(4999) },
    });
    expect(await h.ledger('ord_ok')).toMatchObject({ attempts: 1, captures: 1, capturedMinor: 4999, keptMinor: 4999, refunds: [] });
  });

  it('answers tok_declined with PaymentDeclined and the gateway reason; nothing captured', async () => {
    await h.charge('ord_declined', 'tok_declined', { amount: eur(1200) });
    const [answer] = await h.waitForAnswers('ord_declined', 1);
    expect(answer).toMatchObject({
      type: 'PaymentDeclined',
      data: { orderId: 'ord_declined', paymentId: 'pay_ord_declined', amount: eur(1200), reason: 'card declined: insufficient funds' },
    });
    expect(await h.ledger('ord_declined')).toMatchObject({ captures: 0, keptMinor: 0 });
  });

  it('declines an unknown token', async () => {
    await h.charge('ord_unknown', 'tok_visa_4242');
    const [answer] = await h.waitForAnswers('ord_unknown', 1);
    expect(answer).toMatchObject({ type: 'PaymentDeclined', data: { reason: 'unknown payment token' } });
  });

  it('declines an invalid amount without calling the gateway', async () => {
    await h.charge('ord_zero', 'tok_ok', { amount: eur(0) });
    await h.charge('ord_no_amount', 'tok_ok', { amount: undefined });
    const [zero] = await h.waitForAnswers('ord_zero', 1);
    const [none] = await h.waitForAnswers('ord_no_amount', 1);
    expect(zero).toMatchObject({ type: 'PaymentDeclined', data: { reason: 'invalid charge request: amount.amount_minor: must be at least 1' } });
    expect(none).toMatchObject({ type: 'PaymentDeclined', data: { reason: 'invalid charge request: amount: is required' } });
    expect((await h.ledger('ord_zero')).attempts).toBe(0);
  });

  it('retries tok_flaky through redelivery with backoff and captures exactly once', async () => {
    await h.charge('ord_flaky', 'tok_flaky', { amount: eur(750) });
    const [answer] = await h.waitForAnswers('ord_flaky', 1);
    expect(answer).toMatchObject({ type: 'PaymentCaptured', data: { amount: eur(750) } });
    await h.settled();
    expect(types('ord_flaky')).toEqual(['PaymentCaptured']);
    // Two transient failures (PAYMENT_GATEWAY_FLAKY_FAILURES default 2), then the capture.
    expect(await h.ledger('ord_flaky')).toMatchObject({ attempts: 3, captures: 1, capturedMinor: 750 });
    const retries = h.logLines.filter((l) => l.orderId === 'ord_flaky' && l.msg === 'handler failed; message will be redelivered');
    expect(retries.map((l) => l.deliveries)).toEqual([1, 2]);
  });
});

describe('RefundPayment', () => {
  it('refunds a capture once, with the reason given, caused by the refund command', async () => {
    await h.charge('ord_refund', 'tok_ok', { amount: eur(2500) });
    await h.waitForAnswers('ord_refund', 1);
    const id = await h.refund('ord_refund', 'shipping failed');
    const [, answer] = await h.waitForAnswers('ord_refund', 2);
    expect(answer).toMatchObject({
      id: 'ord_refund:PaymentRefunded',
      type: 'PaymentRefunded',
      causationId: id,
      data: { orderId: 'ord_refund', paymentId: 'pay_ord_refund', amount: eur(2500), reason: 'shipping failed' },
    });
    expect(await h.ledger('ord_refund')).toMatchObject({ captures: 1, capturedMinor: 2500, refundedMinor: 2500, keptMinor: 0 });
    expect((await h.ledger('ord_refund')).refunds).toHaveLength(1);
  });

  it('skips the refund of a declined charge', async () => {
    await h.charge('ord_decl_refund', 'tok_declined');
    await h.waitForAnswers('ord_decl_refund', 1);
    await h.refund('ord_decl_refund');
    const [, answer] = await h.waitForAnswers('ord_decl_refund', 2);
    expect(answer).toMatchObject({ type: 'PaymentRefundSkipped', data: { reason: 'no captured payment: the charge was declined' } });
    expect(await h.ledger('ord_decl_refund')).toMatchObject({ captures: 0, refunds: [] });
  });

  it('skips a refund that comes before any charge, and then refuses the late charge', async () => {
    await h.refund('ord_early_refund', 'step deadline passed');
    const [skipped] = await h.waitForAnswers('ord_early_refund', 1);
    expect(skipped).toMatchObject({
      type: 'PaymentRefundSkipped',
      data: { orderId: 'ord_early_refund', reason: 'no captured payment: the refund was requested before any charge' },
    });
    await h.charge('ord_early_refund', 'tok_ok');
    const [, failed] = await h.waitForAnswers('ord_early_refund', 2);
    expect(failed).toMatchObject({ type: 'PaymentFailed', data: { reason: 'charge cancelled: a refund was requested before the charge started' } });
    expect(await h.ledger('ord_early_refund')).toMatchObject({ attempts: 0, captures: 0, refunds: [] });
  });

  it('voids a tok_timeout charge whose refund is requested while it is in flight: answered at once, the late answer a decline; other orders are not held up', async () => {
    await h.charge('ord_slow', 'tok_timeout', { amount: eur(9900) });
    // The charge is at the gateway (PAYMENT_GATEWAY_TIMEOUT_DELAY_MS=1500 in tests) when the saga gives up.
    await waitFor('the slow charge to reach the gateway', async () => (await h.ledger('ord_slow')).attempts === 1);
    const refundId = await h.refund('ord_slow', 'payment step timed out');
    const [skipped] = await h.waitForAnswers('ord_slow', 1);
    expect(skipped).toMatchObject({
      type: 'PaymentRefundSkipped',
      causationId: refundId,
      data: { reason: 'no captured payment: the charge in flight was voided at the gateway' },
    });
    await h.charge('ord_fast', 'tok_ok');
    await h.waitForAnswers('ord_fast', 1);

    const [, declined] = await h.waitForAnswers('ord_slow', 2);
    expect(declined).toMatchObject({ type: 'PaymentDeclined', data: { reason: voidedReason } });
    await h.settled();
    expect(types('ord_slow')).toEqual(['PaymentRefundSkipped', 'PaymentDeclined']);
    expect(await h.ledger('ord_slow')).toMatchObject({ captures: 0, capturedMinor: 0, refundedMinor: 0, keptMinor: 0 });
  });
});

describe('poison messages', () => {
  it('dead-letters garbage, an unknown type and a command without order id, and keeps serving', async () => {
    await h.sendRaw(Commands.ChargePayment.subject, Commands.ChargePayment.type, new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'ord_garbage');
    await h.sendRaw('payments.commands.ChargeTwice', 'orderflow.payments.v1.ChargeTwice', new Uint8Array(), 'ord_unknown_type');
    const noOrder = encodeMessage(Commands.RefundPayment, { orderId: '', reason: 'x' });
    await h.sendRaw(Commands.RefundPayment.subject, Commands.RefundPayment.type, noOrder, '');

    const letters = await waitFor('three dead letters', async () => {
      const found = await h.deadLetters();
      return found.length >= 3 && found;
    });
    expect(letters.map((l) => ({ subject: l.subject, consumer: l.consumer, deliveries: l.deliveries }))).toEqual([
      { subject: Commands.ChargePayment.subject, consumer: 'payments-commands', deliveries: 1 },
      { subject: 'payments.commands.ChargeTwice', consumer: 'payments-commands', deliveries: 1 },
      { subject: Commands.RefundPayment.subject, consumer: 'payments-commands', deliveries: 1 },
    ]);
    expect(letters[0]!.error).toMatch(/^malformed orderflow.payments.v1.ChargePayment payload/);
    expect(letters[2]!.error).toMatch(/order_id: is required/);

    await h.charge('ord_after_poison', 'tok_ok');
    expect((await h.waitForAnswers('ord_after_poison', 1))[0]!.type).toBe('PaymentCaptured');
  });
});

describe('a gateway that stays unavailable', () => {
  let stuck: PaymentsHarness;
  beforeAll(async () => {
    stuck = await startPaymentsHarness({ PAYMENT_GATEWAY_FLAKY_FAILURES: '100', PAYMENT_COMMAND_MAX_DELIVER: '3' });
  });
  afterAll(() => stuck.close());

  it('answers PaymentFailed on the last allowed delivery, with nothing captured, and skips the refund', async () => {
    await stuck.charge('ord_stuck', 'tok_flaky');
    const [failed] = await stuck.waitForAnswers('ord_stuck', 1);
    expect(failed).toMatchObject({
      type: 'PaymentFailed',
      data: { orderId: 'ord_stuck', reason: 'card gateway unavailable (simulated: call 3 of 100 failing for tok_flaky)' },
    });
    expect(await stuck.ledger('ord_stuck')).toMatchObject({ attempts: 3, captures: 0 });
    await stuck.refund('ord_stuck');
    const [, skipped] = await stuck.waitForAnswers('ord_stuck', 2);
    expect(skipped).toMatchObject({ type: 'PaymentRefundSkipped', data: { reason: 'no captured payment: the charge failed' } });
    await stuck.settled();
    expect(await stuck.deadLetters()).toEqual([]);
  });
});
