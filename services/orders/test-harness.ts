// Integration-test kit for orders: a real nats-server and the real participants — inventory,
// payments and shipping, each started through its boot function with its own store — plus orders
// replicas started through bootOrders exactly as main.ts starts them. Orders can be closed and
// booted again on the same store (a restart), and participants can be stopped and started.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { InventoryServiceService } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { OrderStatus, orderStatusToJSON, type Order } from '../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService, type PlaceOrderRequest } from '../../generated/orderflow/orders/v1/orders_service.js';
import { ShippingServiceService } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { bootInventory } from '../inventory/index.js';
import { bootPayments, readGatewayLedger, type GatewayLedger } from '../payments/index.js';
import {
  connectNats,
  grpcClient,
  jetStreamPublisher,
  listDeadLetters,
  silentLogger,
  type DeadLetter,
  type DocumentStore,
  type GrpcClient,
  type Nats,
  type RunningService,
} from '../platform/index.js';
import { captureLogs, startNatsServer, testStorage, waitFor, type TestNatsServer } from '../platform/testing/index.js';
import { bootShipping } from '../shipping/index.js';
import { bootOrders, type OrdersService } from './service.js';

export const berlin: Address = {
  recipient: 'Ada Lovelace',
  line1: 'Hauptstr. 1',
  line2: '',
  city: 'Berlin',
  region: '',
  postalCode: '10115',
  country: 'DE',
};

/** Settings every test runs with: fast gateway, quick redelivery, frequent timer ticks. */
const fastEnv: Record<string, string> = {
  PAYMENT_GATEWAY_LATENCY_MS: '2',
  PAYMENT_COMMAND_BACKOFF_MS: '50,100',
  PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: '1500',
  SAGA_TIMER_INTERVAL_MS: '50',
  LOG_LEVEL: 'info',
};

type Participant = 'inventory' | 'payments' | 'shipping';
const boots = { inventory: bootInventory, payments: bootPayments, shipping: bootShipping } as const;

export interface OrdersHarness {
  nats: Nats;
  /** The orders replicas running now; the first is the one `client()` talks to by default. */
  replicas: OrdersService[];
  ordersStore: DocumentStore;
  /** The data directory of every service (`<dataDir>/<service>`), and their stores. */
  dataDir: string;
  stores: Record<'orders' | Participant, DocumentStore>;
  logLines: Record<string, unknown>[];
  client(replica?: OrdersService): GrpcClient<typeof OrderServiceService>;
  inventory(): GrpcClient<typeof InventoryServiceService>;
  shipping(): GrpcClient<typeof ShippingServiceService>;
  /** Starts another orders replica on the same store (own NATS connection, gRPC server, consumers). */
  bootReplica(env?: Record<string, string>): Promise<OrdersService>;
  /** Closes every orders replica (a crash-free stop) and boots one again on the same store. */
  restartOrders(env?: Record<string, string>): Promise<void>;
  closeOrders(): Promise<void>;
  stop(participant: Participant): Promise<void>;
  start(participant: Participant): Promise<void>;
  /** Creates a product in the catalog. */
  product(sku: string, amountMinor: number, onHand: number, currency?: string): Promise<void>;
  available(sku: string): Promise<number>;
  /** PlaceOrder with sensible defaults for what the test does not set. */
  place(items: OrderItem[], overrides?: Partial<PlaceOrderRequest>): Promise<Order>;
  /** Waits until GetOrder shows the status, and returns the order. */
  waitForStatus(orderId: string, status: OrderStatus, timeoutMs?: number): Promise<Order>;
  /** The order's stream from GetOrderHistory: step events as their summary, the others by short type. */
  history(orderId: string): Promise<string[]>;
  ledger(orderId: string): Promise<GatewayLedger>;
  publishRaw(subject: string, type: string, data: Uint8Array, correlationId: string): Promise<void>;
  deadLetters(): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export async function startOrdersHarness(env: Record<string, string> = {}): Promise<OrdersHarness> {
  const server: TestNatsServer = await startNatsServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-orders-'));
  const storage = testStorage(dataDir);
  const stores = Object.fromEntries(
    await Promise.all((['orders', 'inventory', 'payments', 'shipping'] as const).map(async (n) => [n, await storage.open(n)])),
  ) as Record<'orders' | Participant, DocumentStore>;
  const { logger, lines: logLines } = captureLogs('orders');
  const baseEnv = { NATS_URL: server.url, ...storage.env, GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRPC_PORT: '0', ...fastEnv, ...env };
  const participants: Partial<Record<Participant, RunningService>> = {};
  const clients: { close(): void }[] = [];
  const track = <C extends { close(): void }>(c: C): C => (clients.push(c), c);

  const start = async (p: Participant) => {
    participants[p] = await boots[p](baseEnv, { logger: silentLogger(), store: stores[p] });
  };
  for (const p of ['inventory', 'payments', 'shipping'] as const) await start(p);
  const inventoryTarget = participants.inventory!.grpcAddress;

  const replicas: OrdersService[] = [];
  let replicaEnv: Record<string, string> = {};
  const bootReplica = async (extra: Record<string, string> = replicaEnv) => {
    const replica = await bootOrders(
      { ...baseEnv, INVENTORY_GRPC_TARGET: inventoryTarget, ...extra },
      { logger: logger.child({ replica: replicas.length + 1 }), store: stores.orders },
    );
    replicas.push(replica);
    return replica;
  };
  await bootReplica();

  const nats = await connectNats({ url: server.url, name: 'orders-test', logger: silentLogger() });
  const publisher = jetStreamPublisher(nats);
  const inventoryClient = track(grpcClient(InventoryServiceService, inventoryTarget));
  const ordersClients = new Map<OrdersService, GrpcClient<typeof OrderServiceService>>();
  const client = (replica = replicas[0]!) => {
    let c = ordersClients.get(replica);
    if (!c) ordersClients.set(replica, (c = track(grpcClient(OrderServiceService, replica.grpcAddress))));
    return c;
  };
  let sequence = 0;

  const closeOrders = async () => {
    for (const r of replicas.splice(0)) await r.close();
  };

  return {
    nats,
    replicas,
    ordersStore: stores.orders,
    dataDir,
    stores,
    logLines,
    client,
    inventory: () => inventoryClient,
    shipping: () => track(grpcClient(ShippingServiceService, participants.shipping!.grpcAddress)),
    bootReplica,
    async restartOrders(extra = {}) {
      await closeOrders();
      replicaEnv = extra;
      await bootReplica(extra);
    },
    closeOrders,
    async stop(p) {
      await participants[p]?.close();
      delete participants[p];
    },
    start,
    async product(sku, amountMinor, onHand, currency = 'EUR') {
      await inventoryClient.createProduct({ sku, name: `Product ${sku}`, price: { amountMinor, currency }, onHand });
    },
    async available(sku) {
      return (await inventoryClient.getProduct({ sku })).product!.available;
    },
    async place(items, overrides = {}) {
      sequence += 1;
      const { order } = await client().placeOrder({
        customerId: 'cus_1',
        customerEmail: 'ada@example.com',
        items,
        shippingAddress: berlin,
        paymentToken: 'tok_ok',
        idempotencyKey: `test-${Date.now()}-${sequence}`,
        ...overrides,
      });
      return order!;
    },
    waitForStatus: (orderId, status, timeoutMs = 15_000) =>
      waitFor(
        `order ${orderId} to be ${orderStatusToJSON(status)}`,
        async () => {
          const { order } = await client().getOrder({ orderId });
          if (order?.status === status) return order;
          throw new Error(`status ${orderStatusToJSON(order?.status ?? 0)}, step "${order?.currentStep}", history: ${(await historyOf(orderId)).join(', ')}`);
        },
        { timeoutMs, intervalMs: 25 },
      ),
    history: (orderId) => historyOf(orderId),
    ledger: (orderId) => readGatewayLedger(stores.payments, orderId),
    async publishRaw(subject, type, data, correlationId) {
      await publisher.publish({ subject, id: `raw-${Date.now()}-${(sequence += 1)}`, type, data, correlationId });
    },
    async deadLetters() {
      const { messages } = (await nats.jsm.streams.info('DEAD_LETTERS')).state;
      return messages === 0 ? [] : listDeadLetters(nats);
    },
    async close() {
      for (const c of clients) c.close();
      await closeOrders();
      for (const p of ['shipping', 'payments', 'inventory'] as const) await participants[p]?.close();
      await nats.nc.drain();
      for (const store of Object.values(stores)) await store.close();
      await storage.dispose();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };

  async function historyOf(orderId: string): Promise<string[]> {
    const { entries } = await client().getOrderHistory({ orderId });
    return entries.map((e) => {
      const type = e.type.split('.').at(-1)!;
      // Step events read best as their summary ("step reserve_stock succeeded"); the rest by type.
      return type.startsWith('OrderStep') ? e.summary : type;
    });
  }
}

export { OrderStatus };
