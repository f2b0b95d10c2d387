import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Address, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason, OrderStatus, type Order } from '../../generated/orderflow/orders/v1/order.js';
import { itUnlessServerLacks } from '../../services/platform/testing/ferretdb.js';
import { startDuplicator } from './harness/duplicator.js';
import { replicasPerService, startSystem, type System } from './harness/system.js';

// 200 concurrent orders, with mixed tokens, scarce products, unserved addresses and customer
// cancels, against two replicas of every service while every message is delivered twice. The
// effects must still happen exactly once.
const address = (country: string): Address => ({
  recipient: 'Ada Lovelace',
  line1: 'Hauptstr. 1',
  line2: '',
  city: 'Berlin',
  region: '',
  postalCode: '10115',
  country,
});
const catalog = [
  { sku: 'E2E-TEA', price: 450, onHand: 60 },
  { sku: 'E2E-MUG', price: 1200, onHand: 40 },
  { sku: 'E2E-POT', price: 3900, onHand: 25 },
  { sku: 'E2E-CUP', price: 800, onHand: 50 },
  { sku: 'E2E-BAG', price: 300, onHand: 30 },
];
const tokens = ['tok_ok', 'tok_ok', 'tok_ok', 'tok_ok', 'tok_declined', 'tok_flaky', 'tok_flaky'];

/** A deterministic mix, so a failure can be replayed: order i always asks for the same things. */
function orderPlan(i: number) {
  const first = catalog[i % catalog.length]!;
  const second = catalog[(i * 7 + 3) % catalog.length]!;
  const items: OrderItem[] = [{ productId: first.sku, quantity: 1 + (i % 3) }];
  if (second.sku !== first.sku && i % 2 === 0) items.push({ productId: second.sku, quantity: 1 + (i % 2) });
  return {
    items,
    token: tokens[i % tokens.length]!,
    country: i % 17 === 0 ? 'JP' : 'DE', // JP is not served: shipment fails, refund and release
    cancel: i % 10 === 9,
  };
}

/** Runs `call` again (up to 5 times, 200 ms apart) while it fails with gRPC UNAVAILABLE. */
async function withRetriesOnUnavailable<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= 5 || (err as { code?: number }).code !== status.UNAVAILABLE) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

// On FerretDB the burst outlasts the system's deadlines (see idOnlyIndexes).
const itUnlessIndexed = await itUnlessServerLacks('idOnlyIndexes');

let system: System;
let duplicator: Awaited<ReturnType<typeof startDuplicator>>;

beforeAll(async () => {
  system = await startSystem({ replicas: await replicasPerService(2) });
  duplicator = await startDuplicator(system.nats);
  for (const p of catalog) {
    await system.inventory.createProduct({ sku: p.sku, name: p.sku, price: { amountMinor: p.price, currency: 'EUR' }, onHand: p.onHand });
  }
});

afterAll(async () => {
  await duplicator?.stop();
  await system?.close();
});

describe('exactly-once effects under duplicates and replicas', () => {
  itUnlessIndexed('ends 200 concurrent orders terminal, with one capture per completed order and stock conserved', async () => {
    const plans = Array.from({ length: 200 }, (_, i) => orderPlan(i));
    const placed = await Promise.all(
      plans.map(async (plan, i) => {
        const client = system.orders[i % system.orders.length]!;
        const request = {
          customerId: `cus_${i % 20}`,
          customerEmail: `customer${i % 20}@example.com`,
          items: plan.items,
          shippingAddress: address(plan.country),
          paymentToken: plan.token,
          idempotencyKey: `e2e-${i}`,
        };
        // As a client should: UNAVAILABLE (a dependency too slow under this burst) is retried
        // with the same idempotency key, which must still place the order once.
        const { order } = await withRetriesOnUnavailable(() => client.placeOrder(request));
        if (plan.cancel) {
          await client.cancelOrder({ orderId: order!.id, reason: 'changed my mind' }).catch((err: unknown) => {
            // The saga may have finished first: then the cancel is refused, which is correct.
            if (!String(err).includes('FAILED_PRECONDITION')) throw err;
          });
        }
        return order!;
      }),
    );
    const ids = placed.map((o) => o.id);
    expect(new Set(ids).size).toBe(200);

    await system.waitUntilTerminal(ids, 180_000);
    const final: Order[] = [];
    for (const id of ids) final.push((await system.orders[0]!.getOrder({ orderId: id })).order!);

    const completed = final.filter((o) => o.status === OrderStatus.ORDER_STATUS_COMPLETED);
    const cancelled = final.filter((o) => o.status === OrderStatus.ORDER_STATUS_CANCELLED);
    expect(completed.length + cancelled.length).toBe(200);
    expect(completed.length).toBeGreaterThan(0);
    expect(cancelled.length).toBeGreaterThan(0);
    expect(duplicator.copies()).toBeGreaterThan(1_000); // every stream really was doubled

    for (const order of completed) {
      const ledger = await system.ledger(order.id);
      expect(ledger, `ledger of completed ${order.id}`).toMatchObject({ captures: 1, capturedMinor: order.total!.amountMinor, refundedMinor: 0 });
    }
    for (const order of cancelled) {
      const ledger = await system.ledger(order.id);
      expect(ledger.captures, `captures of cancelled ${order.id}`).toBeLessThanOrEqual(1);
      expect(ledger.refunds.length, `refunds of ${order.id}`).toBeLessThanOrEqual(ledger.captures);
      expect(ledger.keptMinor, `money kept on cancelled ${order.id} (${CancellationReason[order.cancellationReason]})`).toBe(0);
    }
    // Every planned failure shows up with its reason.
    const reasons = new Set(cancelled.map((o) => o.cancellationReason));
    expect(reasons).toContain(CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED);
    expect(reasons).toContain(CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED);

    // Stock: nothing left reserved, and exactly the completed orders' quantities shipped.
    for (const p of catalog) {
      const product = await system.product(p.sku);
      const shippedByOrders = completed.flatMap((o) => o.items).filter((it) => it.productId === p.sku).reduce((n, it) => n + it.quantity, 0);
      expect(product.onHand, `${p.sku} on hand = available + reserved`).toBe(product.available + product.reserved);
      expect(product.reserved, `${p.sku} reserved`).toBe(0);
      expect(product.shipped, `${p.sku} shipped`).toBe(shippedByOrders);
      expect(product.onHand + product.shipped, `${p.sku} conserved`).toBe(p.onHand);
    }
    // The whole budget: the 180 s the orders get to end, then reading 200 orders and ledgers back.
  }, 240_000);
});
