// The second step order, from configuration alone: charge first, then reserve, then ship. When
// the stock then runs short, the capture is refunded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  h = await startOrdersHarness({ SAGA_STEPS: 'charge-payment,reserve-stock,schedule-shipment' });
  await h.product('vase', 3000, 2);
});
afterAll(() => h?.close());

describe('SAGA_STEPS=charge-payment,reserve-stock,schedule-shipment', () => {
  it('charges before reserving, and completes', async () => {
    const placed = await h.place([{ productId: 'vase', quantity: 1 }]);
    expect(placed).toMatchObject({ status: OrderStatus.ORDER_STATUS_PLACED, currentStep: 'charge_payment' });
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_COMPLETED);
    expect(await h.history(placed.id)).toEqual([
      'OrderPlaced',
      'step charge_payment started',
      'step charge_payment succeeded',
      'step reserve_stock started',
      'step reserve_stock succeeded',
      'step schedule_shipment started',
      'step schedule_shipment succeeded',
      'OrderCompleted',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, keptMinor: 3000 });
  });

  it('refunds the capture when stock is short; nothing to release', async () => {
    const placed = await h.place([{ productId: 'vase', quantity: 5 }]);
    const cancelled = await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect(cancelled.cancellationReason).toBe(CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK);
    expect(await h.history(placed.id)).toEqual([
      'OrderPlaced',
      'step charge_payment started',
      'step charge_payment succeeded',
      'step reserve_stock started',
      expect.stringMatching(/^step reserve_stock failed: .*vase \(requested 5, available 1\)/),
      'OrderCompensationStarted',
      'undoing step charge_payment',
      'step charge_payment undone',
      'OrderCancelled',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, capturedMinor: 15_000, refundedMinor: 15_000, keptMinor: 0 });
    expect(await h.available('vase')).toBe(1);
  });

  it('keeps the plan an order was placed with when the service restarts with another', async () => {
    await h.stop('shipping');
    const placed = await h.place([{ productId: 'vase', quantity: 1 }]);
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
    await h.restartOrders({ SAGA_STEPS: 'reserve-stock,charge-payment,schedule-shipment' });
    await h.start('shipping');
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_COMPLETED);
    expect((await h.history(placed.id)).slice(1, 4)).toEqual(['step charge_payment started', 'step charge_payment succeeded', 'step reserve_stock started']);
  });
});
