// Deadlines against the real participants: a charge that answers too late is voided at the
// gateway and the order cancelled at once; an undo nobody answers is re-sent until someone does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { waitFor } from '../platform/testing/index.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  // tok_timeout captures after 6000 ms (PAYMENT_GATEWAY_TIMEOUT_DELAY_MS), well past the charge's 500 ms.
  h = await startOrdersHarness({
    PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: '6000',
    SAGA_STEP_DEADLINE_MS: '5000',
    SAGA_CHARGE_PAYMENT_DEADLINE_MS: '500',
    SAGA_SCHEDULE_SHIPMENT_DEADLINE_MS: '400',
    SAGA_COMPENSATION_MAX_RETRY_MS: '800',
  });
  await h.product('lamp', 4000, 10);
});
afterAll(() => h?.close());

describe('a step that misses its deadline', () => {
  it('tok_timeout: at the deadline the charge is voided, the stock released and the order cancelled; the capture never lands', async () => {
    const before = await h.available('lamp');
    const placedAt = Date.now();
    const placed = await h.place([{ productId: 'lamp', quantity: 1 }], { paymentToken: 'tok_timeout' });
    const cancelled = await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_CANCELLED);
    // Within seconds of the 500 ms deadline, long before the gateway's 6 s capture would land.
    expect(Date.now() - placedAt).toBeLessThan(4_000);
    expect(cancelled).toMatchObject({
      cancellationReason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT,
      cancellationDetail: 'charge_payment was not answered within 500 ms',
    });
    expect(await h.available('lamp')).toBe(before);
    expect(await h.history(placed.id)).toEqual([
      'OrderPlaced',
      'step reserve_stock started',
      'step reserve_stock succeeded',
      'step charge_payment started',
      'step charge_payment timed out',
      'OrderCompensationStarted',
      'undoing step charge_payment',
      'step charge_payment undone', // voided at the gateway: nothing to refund
      'undoing step reserve_stock',
      'step reserve_stock undone',
      'OrderCancelled',
    ]);

    // The gateway's late answer for the voided charge is a decline: recorded, and nothing captured.
    const history = await waitFor(
      'the late answer of the voided charge',
      async () => {
        const events = await h.history(placed.id);
        return events.some((e) => e.startsWith('step charge_payment failed')) && events;
      },
      { timeoutMs: 15_000 },
    );
    expect(history.at(-1)).toBe('step charge_payment failed: charge voided by the merchant before it captured');
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 0, capturedMinor: 0, refundedMinor: 0, keptMinor: 0 });
    expect((await h.client().getOrder({ orderId: placed.id })).order?.status).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
    expect(await h.available('lamp')).toBe(before);
  });
});

describe('an undo nobody answers', () => {
  it('is re-sent on its deadline until the participant is back, and the order still ends cancelled', async () => {
    await h.stop('shipping');
    const before = await h.available('lamp');
    const placed = await h.place([{ productId: 'lamp', quantity: 2 }]);

    // The shipment step times out, its CancelShipment goes unanswered and is sent again.
    await waitFor(
      'the CancelShipment to be re-sent',
      async () => (await h.history(placed.id)).includes('undoing step schedule_shipment (attempt 2)'),
      { timeoutMs: 10_000 },
    );
    const { order } = await h.client().getOrder({ orderId: placed.id });
    expect(order).toMatchObject({
      status: OrderStatus.ORDER_STATUS_COMPENSATING,
      currentStep: 'schedule_shipment',
      cancellationReason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT,
    });

    await h.start('shipping');
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_CANCELLED);
    // Shipping may refuse the overtaken ScheduleShipment after the cancel: a late answer, recorded only.
    const history = (await h.history(placed.id)).filter((e) => e !== 'step schedule_shipment failed: shipment was cancelled before it could be scheduled');
    expect(history.filter((e) => e === 'step schedule_shipment undone')).toHaveLength(1);
    expect(history.slice(history.indexOf('step schedule_shipment undone'))).toEqual([
      'step schedule_shipment undone',
      'undoing step charge_payment',
      'step charge_payment undone',
      'undoing step reserve_stock',
      'step reserve_stock undone',
      'OrderCancelled',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, keptMinor: 0 });
    expect(await h.available('lamp')).toBe(before);
  });
});
