import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { startSystem, type System } from './harness/system.js';

// A customer cancels while a step is in flight: the participant of that step is down, so the
// cancel lands exactly at that stage, and its compensation must undo whatever the step did
// once the participant is back.
const berlin: Address = { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' };
let system: System;

beforeAll(async () => {
  system = await startSystem({ replicas: 1 });
  await system.inventory.createProduct({ sku: 'CXL-1', name: 'Teapot', price: { amountMinor: 3900, currency: 'EUR' }, onHand: 10 });
});
afterAll(() => system?.close());

async function placeOne(key: string) {
  const { order } = await system.orders[0]!.placeOrder({
    customerId: 'cus_cxl',
    customerEmail: 'cxl@example.com',
    items: [{ productId: 'CXL-1', quantity: 2 }],
    shippingAddress: berlin,
    paymentToken: 'tok_ok',
    idempotencyKey: key,
  });
  return order!;
}

describe('customer cancellation at a stage in flight', () => {
  it('while charging: the charge that lands late is refunded and the stock released', async () => {
    await system.stop('payments');
    const order = await placeOne('cancel-while-charging');
    await system.waitForStatus(order.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
    expect((await system.product('CXL-1')).reserved).toBe(2);
    const { order: cancelling } = await system.orders[0]!.cancelOrder({ orderId: order.id, reason: 'found it cheaper' });
    expect(cancelling?.status).toBe(OrderStatus.ORDER_STATUS_COMPENSATING);
    await system.start('payments');
    const cancelled = await system.waitForStatus(order.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect(cancelled.cancellationReason).toBe(CancellationReason.CANCELLATION_REASON_CUSTOMER_REQUESTED);
    expect((await system.ledger(order.id)).keptMinor).toBe(0);
    expect(await system.product('CXL-1')).toMatchObject({ onHand: 10, available: 10, reserved: 0, shipped: 0 });
  });

  it('while scheduling the shipment: the shipment is cancelled, the capture refunded, the stock released', async () => {
    await system.stop('shipping');
    const order = await placeOne('cancel-while-shipping');
    await system.waitForStatus(order.id, OrderStatus.ORDER_STATUS_PAYMENT_CAPTURED);
    expect((await system.ledger(order.id)).captures).toBe(1);
    await system.orders[0]!.cancelOrder({ orderId: order.id, reason: 'moving house' });
    await system.start('shipping');
    const cancelled = await system.waitForStatus(order.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect(cancelled.cancellationReason).toBe(CancellationReason.CANCELLATION_REASON_CUSTOMER_REQUESTED);
    expect(await system.ledger(order.id)).toMatchObject({ captures: 1, refundedMinor: 7800, keptMinor: 0 });
    expect(await system.product('CXL-1')).toMatchObject({ onHand: 10, available: 10, reserved: 0 });
  });

  it('once completed, a cancel is refused with FAILED_PRECONDITION and nothing changes', async () => {
    const order = await placeOne('cancel-too-late');
    await system.waitForStatus(order.id, OrderStatus.ORDER_STATUS_COMPLETED);
    await expect(system.orders[0]!.cancelOrder({ orderId: order.id, reason: 'late' })).rejects.toMatchObject({ code: 9 });
    expect((await system.ledger(order.id)).keptMinor).toBe(7800);
  });
});
