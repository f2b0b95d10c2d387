import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import { OrderStatus, orderStatusToJSON, type Order } from '../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService } from '../../generated/orderflow/orders/v1/orders_service.js';
import { grpcClient, type GrpcClient } from '../../services/platform/index.js';
import { waitFor } from '../../services/platform/testing/index.js';
import { replicasPerService, startSystem, type ServiceName, type System } from './harness/system.js';

// kill -9 a service process mid-saga, start it again on the same data, and every saga finishes
// with its effects exactly once.
const berlin: Address = { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' };
const terminal = new Set([OrderStatus.ORDER_STATUS_COMPLETED, OrderStatus.ORDER_STATUS_CANCELLED]);

let system: System | undefined;
afterEach(async () => {
  await system?.close();
  system = undefined;
});

async function placeOrders(orders: GrpcClient<typeof OrderServiceService>[], tag: string, count: number): Promise<Order[]> {
  const placed: Order[] = [];
  for (let i = 0; i < count; i++) {
    const { order } = await orders[i % orders.length]!.placeOrder({
      customerId: 'cus_crash',
      customerEmail: 'crash@example.com',
      items: [{ productId: 'CRASH-1', quantity: 1 }],
      shippingAddress: berlin,
      paymentToken: i % 3 === 0 ? 'tok_flaky' : 'tok_ok',
      idempotencyKey: `crash-${tag}-${i}`,
    });
    placed.push(order!);
  }
  return placed;
}

async function waitAllTerminal(sys: System, placed: Order[]): Promise<Order[]> {
  const client = grpcClient(OrderServiceService, sys.address('orders', 0), { deadlineMs: 20_000, authorization: sys.adminAuthorization });
  try {
    return await waitFor(
      'every saga to finish after the kill',
      async () => {
        const { orders: found } = await client.batchGetOrders({ orderIds: placed.map((o) => o.id) });
        const open = found.filter((o) => !terminal.has(o.status));
        if (found.length === placed.length && open.length === 0) return found;
        throw new Error(`${open.length} open: ${open.slice(0, 3).map((o) => `${o.id} ${orderStatusToJSON(o.status)} ${o.currentStep}`).join('; ')}`);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  } finally {
    client.close();
  }
}

// A slow gateway and flaky cards keep sagas in flight when the process dies. Deadlines longer
// than a restart: the sagas must resume, not time out.
const slowEnv = { PAYMENT_GATEWAY_LATENCY_MS: '40', SAGA_STEP_DEADLINE_MS: '30000' };

async function crashMidSaga(victim: ServiceName) {
  system = await startSystem({ env: slowEnv });
  const sys = system;
  await sys.inventory.createProduct({ sku: 'CRASH-1', name: 'Kettle', price: { amountMinor: 2500, currency: 'EUR' }, onHand: 100 });
  const placed = await placeOrders(sys.orders, victim, 30);
  const before = (await sys.orders[0]!.batchGetOrders({ orderIds: placed.map((o) => o.id) })).orders;
  expect(before.filter((o) => !terminal.has(o.status)).length, 'sagas in flight at the kill').toBeGreaterThan(0);
  await sys.kill(victim);
  await sys.start(victim);

  const final = await waitAllTerminal(sys, placed);
  const notCompleted = final.filter((o) => o.status !== OrderStatus.ORDER_STATUS_COMPLETED);
  expect(notCompleted.map((o) => `${o.id} ${orderStatusToJSON(o.status)}: ${o.cancellationDetail}`)).toEqual([]);
  const product = await sys.product('CRASH-1');
  expect(product).toMatchObject({ shipped: 30, reserved: 0, onHand: 70, available: 70 });
  // The card gateway's ledger: one capture per order.
  for (const order of final) {
    expect(await sys.ledger(order.id)).toMatchObject({ captures: 1, capturedMinor: 2500, refundedMinor: 0 });
  }
}

describe('crash recovery', () => {
  it('finishes every saga when the orders service is killed mid-saga and restarted', () => crashMidSaga('orders'));
  it('finishes every saga when the payments service is killed mid-saga and restarted', () => crashMidSaga('payments'));

  it('with two processes of every service, SIGKILL of one orders and one payments replica mid-saga leaves every order terminal, at most one capture each, stock conserved', { timeout: 300_000 }, async () => {
    // Two of orders and payments (the victims) everywhere; two of every service where the store allows it.
    system = await startSystem({ replicas: await replicasPerService(2, ['payments']), env: slowEnv });
    const sys = system;
    const onHand = 100;
    await sys.inventory.createProduct({ sku: 'CRASH-1', name: 'Kettle', price: { amountMinor: 2500, currency: 'EUR' }, onHand });
    const placed = await placeOrders(sys.orders, 'replicas', 40);
    const before = (await sys.orders[0]!.batchGetOrders({ orderIds: placed.map((o) => o.id) })).orders;
    expect(before.filter((o) => !terminal.has(o.status)).length, 'sagas in flight at the kill').toBeGreaterThan(0);
    // No restart: the surviving replica of each service takes over the shared durables and data.
    await Promise.all([sys.kill('orders', 1), sys.kill('payments', 0)]);

    const final = await waitAllTerminal(sys, placed);
    let shipped = 0;
    for (const order of final) {
      const ledger = await sys.ledger(order.id);
      expect(ledger.captures, `captures of ${order.id}`).toBeLessThanOrEqual(1);
      if (order.status === OrderStatus.ORDER_STATUS_COMPLETED) {
        shipped += 1;
        expect(ledger).toMatchObject({ captures: 1, capturedMinor: 2500, refundedMinor: 0 });
      } else {
        // A cancelled order keeps no money: whatever was captured was refunded.
        expect(ledger.capturedMinor - ledger.refundedMinor, `money kept for cancelled ${order.id}`).toBe(0);
      }
    }
    const product = await sys.product('CRASH-1');
    expect(product).toMatchObject({ shipped, reserved: 0, onHand: onHand - shipped, available: onHand - shipped });
  });
});
