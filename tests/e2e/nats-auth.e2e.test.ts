import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { projectionConsumers } from '../../services/query/index.js';
import { notificationStreams } from '../../services/notifications/index.js';
import { consumerDrained } from '../../services/platform/testing/index.js';
import { startSystem, type System, type ServiceName } from './harness/system.js';

// The harness runs NATS with a user per service (the generated permissions): every service does
// its real work with only its own rights, and none of them is refused anything on the way.
const berlin: Address = { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' };
const services: ServiceName[] = ['inventory', 'payments', 'shipping', 'orders', 'query', 'notifications'];
let system: System;

beforeAll(async () => {
  system = await startSystem({ replicas: 1, extra: ['query', 'notifications'] });
  await system.inventory.createProduct({ sku: 'AUTH-1', name: 'Kettle', price: { amountMinor: 2500, currency: 'EUR' }, onHand: 5 });
});
afterAll(() => system?.close());

const place = async (key: string, paymentToken: string) =>
  (
    await system.orders[0]!.placeOrder({
      customerId: 'cus_auth',
      customerEmail: 'auth@example.com',
      items: [{ productId: 'AUTH-1', quantity: 1 }],
      shippingAddress: berlin,
      paymentToken,
      idempotencyKey: key,
    })
  ).order!;

describe('the saga with a NATS user per service', () => {
  it('completes one order and compensates a declined one, projects and notifies both, and no process is refused anything', async () => {
    const completed = await place('auth-ok', 'tok_ok');
    const declined = await place('auth-declined', 'tok_declined');
    await system.waitForStatus(completed.id, OrderStatus.ORDER_STATUS_COMPLETED);
    await system.waitForStatus(declined.id, OrderStatus.ORDER_STATUS_CANCELLED);
    expect(await system.ledger(completed.id)).toMatchObject({ captures: 1, keptMinor: 2500 });
    expect(await system.product('AUTH-1')).toMatchObject({ onHand: 4, reserved: 0, shipped: 1 });
    for (const { stream, durable } of [...projectionConsumers, ...notificationStreams]) await consumerDrained(system.nats, stream, durable);
    expect((await system.nats.jsm.streams.info('NOTIFICATIONS_EVENTS')).state.messages).toBeGreaterThanOrEqual(2);
    expect((await system.nats.jsm.streams.info('DEAD_LETTERS')).state.messages).toBe(0);
    for (const name of services) expect(system.output(name), name).not.toMatch(/permissions? violation|StreamNotProvisioned/i);
  });
});
