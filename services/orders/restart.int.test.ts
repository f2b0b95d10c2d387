// The saga's state is the order's stream: an orders service closed mid-saga and booted again on
// the same store resumes every saga in flight, its timers included; two replicas share the work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { waitFor } from '../platform/testing/index.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';
import type { OrderViewDoc, SecretDoc } from './views.js';

let h: OrdersHarness;
beforeAll(async () => {
  h = await startOrdersHarness({ SAGA_STEP_DEADLINE_MS: '20000', SAGA_SCHEDULE_SHIPMENT_DEADLINE_MS: '600' });
  await h.product('book', 1800, 100);
});
afterAll(() => h?.close());

const happyPath = [
  'OrderPlaced',
  'step reserve_stock started',
  'step reserve_stock succeeded',
  'step charge_payment started',
  'step charge_payment succeeded',
  'step schedule_shipment started',
  'step schedule_shipment succeeded',
  'OrderCompleted',
];

describe('a restart of orders mid-saga', () => {
  it('resumes from the stream: a reply that arrived while orders was down finishes the saga', async () => {
    await h.stop('payments'); // the charge waits in PAYMENTS_COMMANDS
    const placed = await h.place([{ productId: 'book', quantity: 1 }]);
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_STOCK_RESERVED);
    await h.closeOrders();

    await h.start('payments');
    await waitFor('the charge to be captured while orders is down', async () => (await h.ledger(placed.id)).captures === 1);
    await h.restartOrders();
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_COMPLETED);
    expect(await h.history(placed.id)).toEqual(happyPath);
  });

  it('keeps its timers: a deadline that passed while orders was down fires after the restart', async () => {
    await h.stop('shipping');
    const placed = await h.place([{ productId: 'book', quantity: 2 }]);
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_PAYMENT_CAPTURED);
    await h.closeOrders();

    const view = await h.ordersStore.collection<OrderViewDoc>('order_views').findOne({ _id: placed.id });
    const deadline = view!.stepDeadline!;
    await waitFor('the shipment deadline to pass', () => Date.now() > deadline.getTime());
    await h.restartOrders();
    const compensating = await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_COMPENSATING);
    expect(compensating.cancellationReason).toBe(CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT);

    await h.start('shipping');
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect(await h.ledger(placed.id)).toMatchObject({ captures: 1, keptMinor: 0 });
  });
});

describe('a crash between the append and the view write', () => {
  it('is repaired by the sweep: the view is rebuilt from the stream; a placement never stored leaves no secret', async () => {
    const placed = await h.place([{ productId: 'book', quantity: 1 }]);
    await h.waitForStatus(placed.id, OrderStatus.ORDER_STATUS_COMPLETED);
    const views = h.ordersStore.collection<OrderViewDoc>('order_views');
    const secrets = h.ordersStore.collection<SecretDoc>('order_secrets');
    // What a crash would leave: the stream without its view, and a secret whose order never got stored.
    await views.deleteOne({ _id: placed.id });
    await secrets.updateOne({ _id: placed.id }, { $set: { checkAt: new Date(0) } });
    await secrets.insertOne({ _id: 'ord_never_stored', paymentToken: 'tok_ok', checkAt: new Date(0) });

    const rebuilt = await waitFor('the view to be rebuilt', async () => (await views.findOne({ _id: placed.id })) ?? false);
    expect(rebuilt).toMatchObject({ version: 8, status: OrderStatus.ORDER_STATUS_COMPLETED });
    await waitFor('the orphan secret to be removed', async () => (await secrets.findOne({ _id: 'ord_never_stored' })) === null);
    // The sweep clears the marker after rebuilding the view, beside the orphan's removal: wait for it too.
    await waitFor('the marker to be cleared', async () => (await secrets.findOne({ _id: placed.id }))?.checkAt === undefined);
    expect(await secrets.findOne({ _id: placed.id })).toEqual({ _id: placed.id }); // token gone once charged; marker cleared
  });
});

describe('two replicas', () => {
  it('share the replies and the timers; every order runs its saga exactly once', async () => {
    await h.bootReplica();
    expect(h.replicas).toHaveLength(2);
    const orders = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => {
        const { order } = await h.client(h.replicas[i % 2]).placeOrder({
          customerId: 'cus_replicas',
          customerEmail: 'r@example.com',
          items: [{ productId: 'book', quantity: 1 }],
          shippingAddress: { recipient: 'R', line1: 'Rue 1', line2: '', city: 'Paris', region: '', postalCode: '75001', country: 'FR' },
          paymentToken: i === 5 ? 'tok_declined' : 'tok_ok',
          idempotencyKey: `replicas-${i}`,
        });
        return order!;
      }),
    );
    for (const o of orders.slice(0, 5)) {
      await h.waitForStatus(o.id, OrderStatus.ORDER_STATUS_COMPLETED);
      expect(await h.history(o.id)).toEqual(happyPath);
    }
    await h.waitForStatus(orders[5]!.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect((await h.history(orders[5]!.id)).filter((e) => e === 'OrderCancelled')).toHaveLength(1);
  });
});
