// The whole system in one process, as production runs it but with every service started twice:
// a real nats-server, and N replicas of inventory, payments, shipping and orders, each started
// through its boot function (what main.ts runs). Replicas of one service share its store (one
// handle, as they share a process); each has its own NATS connection, gRPC server and
// consumers on the shared durables.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryServiceService, type Product } from '../../../generated/orderflow/inventory/v1/inventory_service.js';
import { OrderStatus, orderStatusToJSON, type Order } from '../../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService } from '../../../generated/orderflow/orders/v1/orders_service.js';
import { bootInventory } from '../../../services/inventory/index.js';
import { bootOrders } from '../../../services/orders/index.js';
import { bootPayments, readGatewayLedger, type GatewayLedger } from '../../../services/payments/index.js';
import {
  connectNats,
  grpcClient,
  openDocumentStore,
  silentLogger,
  type DocumentStore,
  type GrpcClient,
  type Nats,
  type RunningService,
} from '../../../services/platform/index.js';
import { startNatsServer, waitFor, type TestNatsServer } from '../../../services/platform/testing/index.js';
import { bootShipping } from '../../../services/shipping/index.js';

const serviceNames = ['inventory', 'payments', 'shipping', 'orders'] as const;
type ServiceName = (typeof serviceNames)[number];

/** Fast settings: a quick card gateway, short backoffs, frequent saga timer ticks. */
export const fastEnv: Record<string, string> = {
  PAYMENT_GATEWAY_LATENCY_MS: '2',
  PAYMENT_GATEWAY_FLAKY_FAILURES: '2',
  PAYMENT_COMMAND_BACKOFF_MS: '50,100',
  SAGA_TIMER_INTERVAL_MS: '100',
  LOG_LEVEL: 'silent',
};

const terminal = new Set([OrderStatus.ORDER_STATUS_COMPLETED, OrderStatus.ORDER_STATUS_CANCELLED]);

export interface System {
  nats: Nats;
  natsUrl: string;
  /** Parent of every service's data folder. */
  dataDir: string;
  stores: Record<ServiceName, DocumentStore>;
  replicas: Record<ServiceName, RunningService[]>;
  /** Orders clients, one per replica: callers spread over them. */
  orders: GrpcClient<typeof OrderServiceService>[];
  inventory: GrpcClient<typeof InventoryServiceService>;
  ledger(orderId: string): Promise<GatewayLedger>;
  product(sku: string): Promise<Product>;
  /** Closes every replica of a participant: its commands wait in JetStream. */
  stop(name: 'inventory' | 'payments' | 'shipping'): Promise<void>;
  /** Starts one replica of a stopped participant again, on its store. */
  start(name: 'inventory' | 'payments' | 'shipping'): Promise<void>;
  /** Waits until the order has the status, failing with the status it has. */
  waitForStatus(orderId: string, status: OrderStatus, timeoutMs?: number): Promise<Order>;
  /** Waits until every order is COMPLETED or CANCELLED; fails naming the ones that are not. */
  waitUntilTerminal(orderIds: string[], timeoutMs: number): Promise<Order[]>;
  close(): Promise<void>;
}

export async function startSystem(options: { replicas: number; env?: Record<string, string> }): Promise<System> {
  const server: TestNatsServer = await startNatsServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-e2e-'));
  const stores = {} as Record<ServiceName, DocumentStore>;
  for (const name of serviceNames) stores[name] = await openDocumentStore({ dataDir: join(dataDir, name) });
  const env = { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...fastEnv, ...options.env };
  const replicas: Record<ServiceName, RunningService[]> = { inventory: [], payments: [], shipping: [], orders: [] };
  const boot = { inventory: bootInventory, payments: bootPayments, shipping: bootShipping } as const;
  for (let i = 0; i < options.replicas; i++) {
    for (const name of ['inventory', 'payments', 'shipping'] as const) {
      replicas[name].push(await boot[name](env, { logger: silentLogger(), store: stores[name] }));
    }
  }
  for (let i = 0; i < options.replicas; i++) {
    // Each orders replica prices through a different inventory replica.
    const inventoryTarget = replicas.inventory[i % replicas.inventory.length]!.grpcAddress;
    replicas.orders.push(await bootOrders({ ...env, INVENTORY_GRPC_TARGET: inventoryTarget }, { logger: silentLogger(), store: stores.orders }));
  }
  const nats = await connectNats({ url: server.url, name: 'e2e', logger: silentLogger() });
  const orders = replicas.orders.map((r) => grpcClient(OrderServiceService, r.grpcAddress, { deadlineMs: 30_000 }));
  const inventory = grpcClient(InventoryServiceService, replicas.inventory[0]!.grpcAddress);

  return {
    nats,
    natsUrl: server.url,
    dataDir,
    stores,
    replicas,
    orders,
    inventory,
    ledger: (orderId) => readGatewayLedger(stores.payments, orderId),
    async stop(name) {
      for (const r of replicas[name].splice(0)) await r.close();
    },
    async start(name) {
      replicas[name].push(await boot[name](env, { logger: silentLogger(), store: stores[name] }));
    },
    waitForStatus: (orderId, status, timeoutMs = 20_000) =>
      waitFor(
        `order ${orderId} to be ${orderStatusToJSON(status)}`,
        async () => {
          const { order } = await orders[0]!.getOrder({ orderId });
          if (order?.status === status) return order;
          throw new Error(`it is ${orderStatusToJSON(order?.status ?? 0)} at "${order?.currentStep}"`);
        },
        { timeoutMs, intervalMs: 50 },
      ),
    product: async (sku) => (await inventory.getProduct({ sku })).product!,
    async waitUntilTerminal(orderIds, timeoutMs) {
      let open: string[] = [];
      return waitFor(
        `${orderIds.length} orders to end COMPLETED or CANCELLED`,
        async () => {
          const { orders: found } = await orders[0]!.batchGetOrders({ orderIds });
          open = found.filter((o) => !terminal.has(o.status)).map((o) => `${o.id}: ${orderStatusToJSON(o.status)} at "${o.currentStep}"`);
          if (found.length === orderIds.length && open.length === 0) return found;
          throw new Error(`${open.length} not terminal, e.g. ${open.slice(0, 5).join('; ')}`);
        },
        { timeoutMs, intervalMs: 250 },
      );
    },
    async close() {
      for (const c of [...orders, inventory]) c.close();
      for (const name of [...serviceNames].reverse()) for (const r of replicas[name]) await r.close();
      await nats.nc.drain();
      for (const store of Object.values(stores)) await store.close();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
