import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import { InventoryServiceService } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { OrderStatus, orderStatusToJSON, type Order } from '../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService } from '../../generated/orderflow/orders/v1/orders_service.js';
import { readGatewayLedger } from '../../services/payments/index.js';
import { grpcClient, openDocumentStore } from '../../services/platform/index.js';
import { waitFor } from '../../services/platform/testing/index.js';
import { startProcesses, type ProcessName, type ProcessSystem } from './harness/processes.js';

// kill -9 a service process mid-saga, start it again on the same data, and every saga finishes
// with its effects exactly once.
const berlin: Address = { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' };
const terminal = new Set([OrderStatus.ORDER_STATUS_COMPLETED, OrderStatus.ORDER_STATUS_CANCELLED]);

let system: ProcessSystem | undefined;
afterEach(async () => {
  await system?.close();
  system = undefined;
});

async function crashMidSaga(victim: ProcessName) {
  // A slow gateway and flaky cards keep sagas in flight when the process dies.
  // Deadlines longer than a restart: the sagas must resume, not time out.
  system = await startProcesses({ PAYMENT_GATEWAY_LATENCY_MS: '40', SAGA_STEP_DEADLINE_MS: '30000' });
  const sys = system;
  const inventory = grpcClient(InventoryServiceService, sys.address('inventory'));
  const orders = grpcClient(OrderServiceService, sys.address('orders'), { deadlineMs: 20_000 });
  await inventory.createProduct({ sku: 'CRASH-1', name: 'Kettle', price: { amountMinor: 2500, currency: 'EUR' }, onHand: 100 });

  const placed: Order[] = [];
  for (let i = 0; i < 30; i++) {
    const { order } = await orders.placeOrder({
      customerId: 'cus_crash',
      customerEmail: 'crash@example.com',
      items: [{ productId: 'CRASH-1', quantity: 1 }],
      shippingAddress: berlin,
      paymentToken: i % 3 === 0 ? 'tok_flaky' : 'tok_ok',
      idempotencyKey: `crash-${victim}-${i}`,
    });
    placed.push(order!);
  }
  const before = (await orders.batchGetOrders({ orderIds: placed.map((o) => o.id) })).orders;
  expect(before.filter((o) => !terminal.has(o.status)).length, 'sagas in flight at the kill').toBeGreaterThan(0);
  await sys.kill(victim);
  orders.close();
  await sys.start(victim);

  const client = grpcClient(OrderServiceService, sys.address('orders'), { deadlineMs: 20_000 });
  const final = await waitFor(
    'every saga to finish after the restart',
    async () => {
      const { orders: found } = await client.batchGetOrders({ orderIds: placed.map((o) => o.id) });
      const open = found.filter((o) => !terminal.has(o.status));
      if (found.length === placed.length && open.length === 0) return found;
      throw new Error(`${open.length} open: ${open.slice(0, 3).map((o) => `${o.id} ${orderStatusToJSON(o.status)} ${o.currentStep}`).join('; ')}`);
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const notCompleted = final.filter((o) => o.status !== OrderStatus.ORDER_STATUS_COMPLETED);
  expect(notCompleted.map((o) => `${o.id} ${orderStatusToJSON(o.status)}: ${o.cancellationDetail}`)).toEqual([]);
  const product = (await inventory.getProduct({ sku: 'CRASH-1' })).product!;
  expect(product).toMatchObject({ shipped: 30, reserved: 0, onHand: 70, available: 70 });
  client.close();
  inventory.close();

  // The card gateway's ledger, read once the services have stopped: one capture per order.
  await sys.stopServices();
  const payments = await openDocumentStore({ dataDir: join(sys.dataDir, 'payments') });
  for (const order of final) {
    expect(await readGatewayLedger(payments, order.id)).toMatchObject({ captures: 1, capturedMinor: 2500, refundedMinor: 0 });
  }
  await payments.close();
}

describe('crash recovery', () => {
  it('finishes every saga when the orders service is killed mid-saga and restarted', () => crashMidSaga('orders'));
  it('finishes every saga when the payments service is killed mid-saga and restarted', () => crashMidSaga('payments'));
});
