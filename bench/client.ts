// Every call the bench makes into the system, in one place: gRPC to orders and inventory, HTTP to
// the gateway. Each order is placed by its customer, with that customer's bearer token (minted
// once per customer); the catalog is set up with an admin's.
import { InventoryServiceService } from '../generated/orderflow/inventory/v1/inventory_service.js';
import { OrderServiceService } from '../generated/orderflow/orders/v1/orders_service.js';
import { Metadata } from '@grpc/grpc-js';
import { grpcClient, type CallSettings } from '../services/platform/index.js';

/** The product every bench order buys, one unit at a time. */
export const benchSku = 'BENCH-1';

const address = { recipient: 'Bench', line1: 'Main 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' };

/** One of 1,000 customers, chosen by the key, so per-customer read models stay the size real ones are. */
function customerOf(key: string): string {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return `cus_bench_${hash % 1_000}`;
}

/** What a placed order needs; `key` makes the idempotency key unique within the run. */
const orderFields = (key: string) => ({
  customerId: customerOf(key),
  customerEmail: 'bench@example.com',
  items: [{ productId: benchSku, quantity: 1 }],
  paymentToken: 'tok_ok',
  idempotencyKey: key,
});

const placeOrderMutation = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`;

export interface BenchClient {
  /** PlaceOrder over gRPC; resolves with the order id. */
  placeOrder(key: string): Promise<string>;
  /** The placeOrder mutation through the gateway; resolves with the order id. */
  placeOrderGraphQL(key: string): Promise<string>;
  /** Creates the bench product, or restocks it, until `units` more can be reserved. */
  ensureStock(units: number): Promise<{ available: number; restocked: number }>;
  close(): void;
}

/** `Bearer <token>` values: an admin's, and a customer's by id. */
export interface BenchCredentials {
  admin: string;
  customer(customerId: string): Promise<string>;
}

export function connectBench(targets: { orders: string; inventory: string; gatewayUrl: string }, credentials: BenchCredentials): BenchClient {
  const orders = grpcClient(OrderServiceService, targets.orders, { deadlineMs: 30_000 });
  const inventory = grpcClient(InventoryServiceService, targets.inventory, { deadlineMs: 30_000, authorization: credentials.admin });
  const callSettings: CallSettings = {};
  const customers = new Map<string, Promise<string>>();
  const customerToken = (customerId: string) => {
    let token = customers.get(customerId);
    if (!token) customers.set(customerId, (token = credentials.customer(customerId)));
    return token;
  };
  const asCustomer = async (customerId: string): Promise<CallSettings> => {
    const metadata = new Metadata();
    metadata.set('authorization', await customerToken(customerId));
    return { metadata };
  };
  let created: Promise<void> | undefined;

  return {
    async placeOrder(key) {
      const fields = orderFields(key);
      const { order } = await orders.placeOrder({ ...fields, shippingAddress: address }, await asCustomer(fields.customerId));
      if (!order) throw new Error('PlaceOrder answered without an order');
      return order.id;
    },
    async placeOrderGraphQL(key) {
      const { line2: _l2, region: _r, ...shippingAddress } = address;
      const fields = orderFields(key);
      const response = await fetch(targets.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: await customerToken(fields.customerId) },
        body: JSON.stringify({ query: placeOrderMutation, variables: { input: { ...fields, shippingAddress } } }),
      });
      const answer = (await response.json()) as { data?: { placeOrder?: { order?: { id?: string } } }; errors?: unknown[] };
      const id = answer.data?.placeOrder?.order?.id;
      if (!id) throw new Error(`placeOrder through the gateway failed (HTTP ${response.status}): ${JSON.stringify(answer.errors ?? answer).slice(0, 500)}`);
      return id;
    },
    async ensureStock(units) {
      // Created on the first call, so the bench never provokes a NOT_FOUND warning in inventory's log.
      created ??= inventory.createProduct({ sku: benchSku, name: 'Bench product', price: { amountMinor: 100, currency: 'EUR' }, onHand: 0 }, callSettings).then(() => undefined);
      await created;
      const { product } = await inventory.getProduct({ sku: benchSku }, callSettings);
      const available = Number(product?.available ?? 0);
      // Restock generously: the sustained phases place as many orders as the system takes.
      const missing = units - available;
      if (missing <= 0) return { available, restocked: 0 };
      const quantity = missing * 2;
      const restocked = (await inventory.restock({ sku: benchSku, quantity }, callSettings)).product;
      return { available: Number(restocked?.available ?? available + quantity), restocked: quantity };
    },
    close() {
      orders.close();
      inventory.close();
    },
  };
}
