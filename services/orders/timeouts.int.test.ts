// Deadlines against the real participants: a charge that answers too late is treated as failed
// and its late capture refunded; an undo nobody answers is re-sent until someone does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { waitFor } from '../platform/testing/index.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  // tok_timeout answers after 1500 ms (PAYMENT_GATEWAY_TIMEOUT_DELAY_MS), well past the charge's 500 ms.
  h = await startOrdersHarness({
    SAGA_STEP_DEADLINE_MS: '5000',
    SAGA_CHARGE_PAYMENT_DEADLINE_MS: '500',
    SAGA_SCHEDULE_SHIPMENT_DEADLINE_MS: '400',
    SAGA_COMPENSATION_MAX_RETRY_MS: '800',
  });
  await h.product('lamp', 4000, 10);
});
afterAll(() => h?.close());

describe('a step that misses its deadline', () => {
  it('tok_timeout: the charge times out, the stock is released and the late capture is refunded', async () => {
    const before = await h.available('lamp');
    const placed = await h.place([{ productId: 'lamp', quantity: 1 }], { paymentToken: 'tok_timeout' });
    const cancelled = await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect(cancelled).toMatchObject({
      cancellationReason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT,
      cancellationDetail: 'charge_payment was not answered within 500 ms',
    });

    const history = await h.history(placed.id);
    // Re-sends of the refund while the charge is still at the gateway are expected and harmless.
    const resends = history.filter((e) => e.startsWith('undoing step charge_payment (attempt'));
    expect(history.filter((e) => !resends.includes(e))).toEqual([
      'OrderPlaced',
      'step reserve_stock started',
      'step reserve_stock succeeded',
      'step charge_payment started',
      'step charge_payment timed out',
      'OrderCompensationStarted',
      'undoing step charge_payment',
      'step charge_payment succeeded', // the late capture, recorded
      'step charge_payment undone', // ... and refunded
      'undoing step reserve_stock',
      'step reserve_stock undone',
      'OrderCancelled',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, capturedMinor: 4000, refundedMinor: 4000, keptMinor: 0 });
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
