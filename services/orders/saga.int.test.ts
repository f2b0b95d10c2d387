// The saga against the real participants (inventory, payments, shipping) on a real nats-server:
// the happy path to DELIVERED, each participant's failure with its compensation, a customer
// cancellation mid-saga, and poison replies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { ShipmentStatus } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { Events, encodeMessage, readGrpcFailure, type GrpcFailure } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

let h: OrdersHarness;
beforeAll(async () => {
  h = await startOrdersHarness();
  await h.product('mug', 1250, 10);
  await h.product('tee', 2000, 5);
  await h.product('rare', 9900, 1);
});
afterAll(() => h?.close());

const S = OrderStatus;
const R = CancellationReason;

async function failure(call: Promise<unknown>): Promise<GrpcFailure> {
  try {
    await call;
  } catch (err) {
    return readGrpcFailure(err as Parameters<typeof readGrpcFailure>[0]);
  }
  throw new Error('expected the call to fail');
}

describe('the happy path', () => {
  it('reserves, charges, schedules, completes and commits the stock; then ships and delivers', async () => {
    const placed = await h.place([
      { productId: 'mug', quantity: 2 },
      { productId: 'tee', quantity: 1 },
    ]);
    expect(placed).toMatchObject({
      status: S.ORDER_STATUS_PLACED,
      currentStep: 'reserve_stock',
      version: 2,
      items: [
        { productId: 'mug', name: 'Product mug', quantity: 2, unitPrice: { amountMinor: 1250, currency: 'EUR' }, lineTotal: { amountMinor: 2500, currency: 'EUR' } },
        { productId: 'tee', name: 'Product tee', quantity: 1, unitPrice: { amountMinor: 2000, currency: 'EUR' }, lineTotal: { amountMinor: 2000, currency: 'EUR' } },
      ],
      subtotal: { amountMinor: 4500, currency: 'EUR' },
      total: { amountMinor: 4500, currency: 'EUR' },
    });

    const completed = await h.waitForStatus(placed.id, S.ORDER_STATUS_COMPLETED);
    expect(completed).toMatchObject({ currentStep: '', version: 8, cancellationReason: R.CANCELLATION_REASON_UNSPECIFIED });
    expect(await h.history(placed.id)).toEqual([
      'OrderPlaced',
      'step reserve_stock started',
      'step reserve_stock succeeded',
      'step charge_payment started',
      'step charge_payment succeeded',
      'step schedule_shipment started',
      'step schedule_shipment succeeded',
      'OrderCompleted',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, capturedMinor: 4500, keptMinor: 4500 });
    // CommitStock went out with OrderCompleted: the reserved units have left the warehouse.
    await waitFor('stock committed', async () => {
      const { product } = await h.inventory().getProduct({ sku: 'mug' });
      return product?.shipped === 2 && product.reserved === 0 && product.onHand === 8;
    });

    await h.shipping().dispatchShipment({ orderId: placed.id, trackingNumber: 'TRK-123' });
    expect(await h.waitForStatus(placed.id, S.ORDER_STATUS_SHIPPED)).toMatchObject({ trackingNumber: 'TRK-123', version: 9 });
    await h.shipping().confirmDelivery({ orderId: placed.id });
    expect(await h.waitForStatus(placed.id, S.ORDER_STATUS_DELIVERED)).toMatchObject({ trackingNumber: 'TRK-123', version: 10 });

    const cancel = await failure(h.client().cancelOrder({ orderId: placed.id, reason: 'too late' }));
    expect(cancel).toMatchObject({ code: 9, reason: 'ILLEGAL_STATE' }); // FAILED_PRECONDITION
  });
});

describe('a participant says no', () => {
  it('out of stock: cancelled with the shortage, nothing charged', async () => {
    const placed = await h.place([{ productId: 'rare', quantity: 2 }]);
    const cancelled = await h.waitForStatus(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(cancelled.cancellationReason).toBe(R.CANCELLATION_REASON_OUT_OF_STOCK);
    expect(cancelled.cancellationDetail).toContain('rare (requested 2, available 1)');
    expect(await h.history(placed.id)).toEqual([
      'OrderPlaced',
      'step reserve_stock started',
      expect.stringMatching(/^step reserve_stock failed: .*rare \(requested 2, available 1\)/),
      'OrderCancelled',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ attempts: 0, captures: 0 });
    expect(await h.available('rare')).toBe(1);
  });

  it('payment declined: the reserved stock is released, nothing kept', async () => {
    const before = await h.available('tee');
    const placed = await h.place([{ productId: 'tee', quantity: 2 }], { paymentToken: 'tok_declined' });
    const cancelled = await h.waitForStatus(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(cancelled).toMatchObject({
      cancellationReason: R.CANCELLATION_REASON_PAYMENT_DECLINED,
      cancellationDetail: 'card declined: insufficient funds',
    });
    expect(await h.history(placed.id)).toEqual([
      'OrderPlaced',
      'step reserve_stock started',
      'step reserve_stock succeeded',
      'step charge_payment started',
      'step charge_payment failed: card declined: insufficient funds',
      'OrderCompensationStarted',
      'undoing step reserve_stock',
      'step reserve_stock undone',
      'OrderCancelled',
    ]);
    expect(await h.available('tee')).toBe(before);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 0, keptMinor: 0 });
  });

  it('shipping to an unserved country: refunded, then released — in reverse', async () => {
    const before = await h.available('mug');
    const placed = await h.place([{ productId: 'mug', quantity: 1 }], { shippingAddress: { ...berlinIn('JP') } });
    const cancelled = await h.waitForStatus(placed.id, S.ORDER_STATUS_CANCELLED);
    expect(cancelled.cancellationReason).toBe(R.CANCELLATION_REASON_SHIPMENT_FAILED);
    expect(cancelled.cancellationDetail).toMatch(/country "JP" is not served/);
    expect((await h.history(placed.id)).slice(6)).toEqual([
      expect.stringMatching(/^step schedule_shipment failed: country "JP"/),
      'OrderCompensationStarted',
      'undoing step charge_payment',
      'step charge_payment undone',
      'undoing step reserve_stock',
      'step reserve_stock undone',
      'OrderCancelled',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, capturedMinor: 1250, refundedMinor: 1250, keptMinor: 0 });
    expect(await h.available('mug')).toBe(before);
  });
});

describe('the customer cancels', () => {
  it('while the shipment is being scheduled: the same compensation runs; a second cancel gets the current state', async () => {
    await h.stop('shipping'); // holds the saga at its last step
    const before = await h.available('mug');
    const placed = await h.place([{ productId: 'mug', quantity: 3 }]);
    await h.waitForStatus(placed.id, S.ORDER_STATUS_PAYMENT_CAPTURED);

    const { order, version } = await h.client().cancelOrder({ orderId: placed.id, reason: 'found it cheaper' });
    expect(order).toMatchObject({
      status: S.ORDER_STATUS_COMPENSATING,
      currentStep: 'schedule_shipment',
      cancellationReason: R.CANCELLATION_REASON_CUSTOMER_REQUESTED,
      cancellationDetail: 'found it cheaper',
    });
    expect(version).toBe(order!.version);
    const again = await h.client().cancelOrder({ orderId: placed.id, reason: 'really' });
    expect(again.order).toMatchObject({ status: S.ORDER_STATUS_COMPENSATING, version: order!.version });

    await h.start('shipping');
    await h.waitForStatus(placed.id, S.ORDER_STATUS_CANCELLED);
    // Shipping handles its commands concurrently, so either may win the shipment's stream: when the
    // cancel wins, the late schedule is refused; when the schedule wins, the shipment is scheduled
    // and then cancelled. Either late answer is recorded without changing the compensation.
    const history = await h.history(placed.id);
    const late = history.filter((e) => e.startsWith('step schedule_shipment failed') || e === 'step schedule_shipment succeeded');
    expect(late.length).toBeLessThanOrEqual(1);
    expect(late.every((e) => e.endsWith('succeeded') || e.endsWith('shipment was cancelled before it could be scheduled'))).toBe(true);
    expect(history.slice(6).filter((e) => !late.includes(e))).toEqual([
      'OrderCancellationRequested',
      'OrderCompensationStarted',
      'undoing step schedule_shipment',
      'step schedule_shipment undone',
      'undoing step charge_payment',
      'step charge_payment undone',
      'undoing step reserve_stock',
      'step reserve_stock undone',
      'OrderCancelled',
    ]);
    expect(await h.ledger(placed.id)).toMatchObject({ keptMinor: 0 });
    expect(await h.available('mug')).toBe(before);
    const { shipment } = await h.shipping().getShipment({ orderId: placed.id });
    expect(shipment?.status).toBe(ShipmentStatus.SHIPMENT_STATUS_CANCELLED);
    expect(await failure(h.client().cancelOrder({ orderId: placed.id, reason: '' }))).toMatchObject({ code: 9 });
  });
});

describe('poison replies', () => {
  it('are dead-lettered on every reply stream and the saga keeps serving', async () => {
    await h.publishRaw(Events.StockReserved.subject, Events.StockReserved.type, new Uint8Array([0xff, 0xff, 0xff]), 'ord_poison');
    const noOrder = encodeMessage(Events.PaymentCaptured, { orderId: '', paymentId: 'pay_x', amount: undefined, occurredAt: new Date() });
    await h.publishRaw(Events.PaymentCaptured.subject, Events.PaymentCaptured.type, noOrder, '');
    // A type the saga has no route for, on a subject it reads (on nats-server 2.10+ its consumer
    // filters on the subjects it routes, so an unknown subject would never reach it).
    await h.publishRaw(Events.ShipmentScheduled.subject, 'orderflow.shipping.v1.ShipmentTeleported', new Uint8Array(), 'ord_poison');

    const letters = await waitFor('three dead letters', async () => {
      const found = (await h.deadLetters()).filter((l) => l.consumer.startsWith('orders-'));
      return found.length >= 3 && found;
    });
    expect(letters.map((l) => l.consumer).sort()).toEqual(['orders-inventory', 'orders-payments', 'orders-shipping']);

    const placed = await h.place([{ productId: 'tee', quantity: 1 }]);
    await h.waitForStatus(placed.id, S.ORDER_STATUS_COMPLETED);
  });
});

function berlinIn(country: string) {
  return { recipient: 'Ada Lovelace', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country };
}
