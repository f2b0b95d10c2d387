// The whole system as production runs it: a real nats-server, and every service (and, when asked,
// the GraphQL gateway) as its own OS process, started as `npm run service -- <name>` starts it,
// N replicas of each sharing that service's store: its SQLite files, or on the MongoDB leg
// (MONGODB_URI set) its own database on that server. A test can SIGKILL one replica mid-saga and
// start it again on the same data and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InventoryServiceService, type Product } from '../../../generated/orderflow/inventory/v1/inventory_service.js';
import { OrderStatus, orderStatusToJSON, type Order } from '../../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService } from '../../../generated/orderflow/orders/v1/orders_service.js';
import { ServerInfoServiceService } from '../../../generated/orderflow/platform/v1/server_info.js';
import { subgraphUrlVariable, type SubgraphName } from '../../../gateway/config.js';
import { readGatewayLedger, type GatewayLedger } from '../../../services/payments/index.js';
import {
  adminUser,
  connectNats,
  deadLetterStream,
  redriveStream,
  ensureStream,
  generateNatsAuth,
  grpcClient,
  silentLogger,
  streams,
  type DocumentStore,
  type GrpcClient,
  type Nats,
} from '../../../services/platform/index.js';
import { natsGrants } from '../../../scripts/nats-grants.js';
import { serverDifferences } from '../../../services/platform/testing/ferretdb.js';
import {
  freePort,
  startNatsServer,
  startTestIssuer,
  testMongodbUri,
  testStorage,
  waitFor,
  type TestIssuer,
  type TestNatsServer,
  type TestStorage,
} from '../../../services/platform/testing/index.js';
import { stopProcess } from '../../../services/platform/testing/nats-server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The saga's services, always started; `query` and `notifications` on request. */
export const sagaServices = ['inventory', 'payments', 'shipping', 'orders'] as const;
export type ServiceName = (typeof sagaServices)[number] | 'query' | 'notifications';

/** Fast settings: a quick card gateway, short backoffs, frequent saga timer ticks. */
export const fastEnv: Record<string, string> = {
  PAYMENT_GATEWAY_LATENCY_MS: '2',
  PAYMENT_GATEWAY_FLAKY_FAILURES: '2',
  PAYMENT_COMMAND_BACKOFF_MS: '50,100',
  SAGA_TIMER_INTERVAL_MS: '100',
};

const terminal = new Set([OrderStatus.ORDER_STATUS_COMPLETED, OrderStatus.ORDER_STATUS_CANCELLED]);

/** Options of `startSystem`. */
export interface SystemOptions {
  /** Processes per service, or per service by name (missing names: 1). Default 1. */
  replicas?: number | Partial<Record<ServiceName, number>>;
  /** Variables added to every service process (after `fastEnv`). */
  env?: Record<string, string>;
  /** Services besides the saga's four. Default none. */
  extra?: ('query' | 'notifications')[];
  /** Also run the GraphQL gateway (requires query and notifications). Default false. */
  gateway?: boolean;
}

export interface System {
  /** A connection as the NATS admin: every right. */
  nats: Nats;
  natsUrl: string;
  /** NATS_URL and the NATS credentials of a user (a service's name, or `admin`), as a process's environment. */
  natsEnv(user: string): Record<string, string>;
  natsServer: TestNatsServer;
  /** Parent of every service's data folder. */
  dataDir: string;
  storage: TestStorage;
  /** The token issuer every process verifies against (AUTH_* in their environment). */
  issuer: TestIssuer;
  /** `Bearer <admin token>`: what the system's own gRPC clients send. */
  adminAuthorization: string;
  /** Orders clients (as an admin), one per replica: callers spread over them. */
  orders: GrpcClient<typeof OrderServiceService>[];
  inventory: GrpcClient<typeof InventoryServiceService>;
  /** `127.0.0.1:<port>` of a replica's gRPC server. */
  address(name: ServiceName, replica?: number): string;
  grpcPort(name: ServiceName, replica?: number): number;
  /** `http://127.0.0.1:<port>/graphql` of a replica's subgraph. */
  graphqlUrl(name: ServiceName, replica?: number): string;
  /** The gateway's URL (`http://127.0.0.1:<port>/graphql`), when it runs. */
  gatewayUrl: string | undefined;
  gatewayPort: number | undefined;
  /** The store a service owns, opened by the test the way the service opens it (cached). */
  store(name: ServiceName): Promise<DocumentStore>;
  ledger(orderId: string): Promise<GatewayLedger>;
  product(sku: string): Promise<Product>;
  /** gRPC calls answered so far by every running service process, by method path. */
  grpcCalls(): Promise<Record<string, number>>;
  /** SIGTERM to every replica of a service: its commands wait in JetStream. */
  stop(name: ServiceName): Promise<void>;
  /** Starts a stopped replica (default: every stopped replica of the service) again, on its data and port. */
  start(name: ServiceName, replica?: number): Promise<void>;
  /** SIGKILL to one replica: no drain, no flush, whatever was in flight is cut. */
  kill(name: ServiceName, replica?: number): Promise<void>;
  /** What a replica printed lately (for failure messages). */
  output(name: ServiceName | 'gateway', replica?: number): string;
  /** `http://127.0.0.1:<port>/metrics` of a replica, or of the gateway. */
  metricsUrl(name: ServiceName | 'gateway', replica?: number): string;
  /** Waits until the order has the status, failing with the status it has. */
  waitForStatus(orderId: string, status: OrderStatus, timeoutMs?: number): Promise<Order>;
  /** Waits until every order is COMPLETED or CANCELLED; fails naming the ones that are not. */
  waitUntilTerminal(orderIds: string[], timeoutMs: number): Promise<Order[]>;
  close(): Promise<void>;
}

interface Replica {
  name: ServiceName | 'gateway';
  index: number;
  grpcPort: number;
  graphqlPort: number;
  metricsPort: number;
  env: Record<string, string>;
  child: ChildProcess | undefined;
  output: string;
}

/**
 * Processes per service for a test that wants `count` of each. On a server that does not apply
 * concurrent updates of one document atomically (FerretDB; see services/platform/testing/ferretdb.ts)
 * only the services whose shared writes are inserts guarded by unique ids — orders (the event store)
 * and those named in `alsoShared` — get several; the others one, since two of their processes would
 * lose each other's updates there, which MongoDB and SQLite never do.
 */
export async function replicasPerService(count: number, alsoShared: ServiceName[] = []): Promise<Partial<Record<ServiceName, number>>> {
  const atomic = !(await serverDifferences(testMongodbUri)).atomicUpdates;
  const all: ServiceName[] = [...sagaServices, 'query', 'notifications'];
  return Object.fromEntries(all.map((name) => [name, atomic || name === 'orders' || alsoShared.includes(name) ? count : 1]));
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const replicasOf = (name: ServiceName) => (typeof options.replicas === 'number' ? options.replicas : (options.replicas?.[name] ?? 1));
  // NATS as npm start runs it: a user per service with its permissions; the test connects as admin
  // and provisions the streams, as npm start does, since services may not create them.
  const authDir = await mkdtemp(join(tmpdir(), 'orderflow-e2e-nats-auth-'));
  const auth = await generateNatsAuth(authDir, natsGrants);
  const natsServer = await startNatsServer({ configFile: auth.configFile });
  const natsEnv = (user: string) => ({ NATS_URL: natsServer.url, NATS_NKEY_SEED: auth.seeds[user] ?? '' });
  const nats = await connectNats({ url: natsServer.url, name: 'e2e', logger: silentLogger(), credentials: { nkeySeed: auth.seeds[adminUser] } });
  for (const spec of [deadLetterStream, redriveStream, ...streams]) await ensureStream(nats.jsm, spec);
  // Every process verifies tokens as in production: no AUTH_DISABLED here.
  const issuer = await startTestIssuer();
  const adminAuthorization = await issuer.admin();
  const serviceTokens = new Map<string, string>();
  for (const name of [...sagaServices, 'query', 'notifications']) {
    serviceTokens.set(name, await issuer.token({ subject: name, roles: ['service'], expiresIn: '1d' }));
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-e2e-'));
  const storage = testStorage(dataDir);
  const names: ServiceName[] = [...sagaServices, ...(options.extra ?? [])];
  const replicas = new Map<ServiceName, Replica[]>();
  for (const name of names) {
    const list: Replica[] = [];
    for (let i = 0; i < replicasOf(name); i++) {
      list.push({
        name,
        index: i,
        grpcPort: await freePort(),
        graphqlPort: await freePort(),
        metricsPort: await freePort(),
        env: {},
        child: undefined,
        output: '',
      });
    }
    replicas.set(name, list);
  }
  const replica = (name: ServiceName, index = 0): Replica => {
    const found = replicas.get(name)?.[index];
    if (!found) throw new Error(`no replica ${index} of ${name} in this system`);
    return found;
  };
  const address = (name: ServiceName, index = 0) => `127.0.0.1:${replica(name, index).grpcPort}`;
  const graphqlUrl = (name: ServiceName, index = 0) => `http://127.0.0.1:${replica(name, index).graphqlPort}/graphql`;
  for (const list of replicas.values()) {
    for (const r of list) {
      r.env = {
        ...fastEnv,
        LOG_LEVEL: 'info',
        ...natsEnv(r.name),
        ...storage.env,
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(r.grpcPort),
        GRAPHQL_HOST: '127.0.0.1',
        GRAPHQL_PORT: String(r.graphqlPort),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(r.metricsPort),
        // Each orders replica prices through a different inventory replica.
        INVENTORY_GRPC_TARGET: address('inventory', r.index % replicasOf('inventory')),
        QUERY_WAIT_MS: '3000',
        ...issuer.env,
        SERVICE_TOKEN: serviceTokens.get(r.name)!,
        ...options.env,
      };
    }
  }
  let gateway: Replica | undefined;
  if (options.gateway) {
    const port = await freePort();
    const metricsPort = await freePort();
    const subgraphs = Object.fromEntries(
      (['orders', 'inventory', 'payments', 'shipping', 'notifications', 'query'] as SubgraphName[]).map((n) => [subgraphUrlVariable(n), graphqlUrl(n)]),
    );
    gateway = {
      name: 'gateway',
      index: 0,
      grpcPort: 0,
      graphqlPort: port,
      metricsPort,
      env: {
        LOG_LEVEL: 'info',
        ...natsEnv('gateway'),
        ...issuer.env,
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(metricsPort),
        SUPERGRAPH_POLL_INTERVAL_MS: '60000',
        ...subgraphs,
      },
      child: undefined,
      output: '',
    };
  }

  const echo = process.env.E2E_LOGS === '1';
  const launch = async (r: Replica) => {
    const main = r.name === 'gateway' ? 'gateway/main.ts' : `services/${r.name}/main.ts`;
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      cwd: root,
      env: { ...process.env, ...r.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.child = child;
    r.output = '';
    const keep = (chunk: Buffer) => {
      r.output = (r.output + chunk.toString()).slice(-20_000);
      if (echo) process.stderr.write(`[${r.name}#${r.index}] ${chunk.toString()}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const ready = r.name === 'gateway' ? '"msg":"gateway listening"' : `"msg":"${r.name} started"`;
    await waitFor(
      `${r.name}#${r.index} to start`,
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${r.name} exited (${child.exitCode ?? child.signalCode}): ${r.output.slice(-2_000)}`);
        return r.output.includes(ready);
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
  };
  const stopReplica = async (r: Replica, signal: NodeJS.Signals) => {
    if (r.child) await stopProcess(r.child, signal);
    r.child = undefined;
  };

  const all = () => [...[...replicas.values()].flat(), ...(gateway ? [gateway] : [])];
  try {
    // Replicas of one service start together; services in saga order (participants first).
    for (const name of names) await Promise.all(replicas.get(name)!.map(launch));
    if (gateway) {
      await launch(gateway);
      const composed = gateway;
      await waitFor('the gateway to compose the supergraph', async () => (await fetch(`http://127.0.0.1:${composed.graphqlPort}/healthz`)).ok, { timeoutMs: 60_000 }).catch(
        (err: Error) => {
          throw new Error(`${err.message}\nthe gateway's log:\n${composed.output.slice(-4_000)}`);
        },
      );
    }
  } catch (err) {
    for (const r of all()) await stopReplica(r, 'SIGKILL');
    await nats.nc.close();
    await natsServer.stop();
    await issuer.close();
    await rm(authDir, { recursive: true, force: true });
    await storage.dispose();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const orders = replicas.get('orders')!.map((r) => grpcClient(OrderServiceService, `127.0.0.1:${r.grpcPort}`, { deadlineMs: 30_000, authorization: adminAuthorization }));
  const inventory = grpcClient(InventoryServiceService, address('inventory'), { authorization: adminAuthorization });
  const stores = new Map<ServiceName, Promise<DocumentStore>>();
  const store = (name: ServiceName) => {
    let opened = stores.get(name);
    if (!opened) stores.set(name, (opened = storage.open(name)));
    return opened;
  };

  return {
    nats,
    natsUrl: natsServer.url,
    natsEnv,
    natsServer,
    dataDir,
    storage,
    issuer,
    adminAuthorization,
    orders,
    inventory,
    address,
    grpcPort: (name, index = 0) => replica(name, index).grpcPort,
    graphqlUrl,
    gatewayUrl: gateway ? `http://127.0.0.1:${gateway.graphqlPort}/graphql` : undefined,
    gatewayPort: gateway?.graphqlPort,
    store,
    ledger: async (orderId) => readGatewayLedger(await store('payments'), orderId),
    product: async (sku) => (await inventory.getProduct({ sku })).product!,
    async grpcCalls() {
      const total: Record<string, number> = {};
      for (const r of [...replicas.values()].flat()) {
        if (!r.child) continue;
        const client = grpcClient(ServerInfoServiceService, `127.0.0.1:${r.grpcPort}`);
        try {
          const { calls } = await client.getServerInfo({});
          for (const [method, n] of Object.entries(calls)) {
            if (method.includes('ServerInfoService')) continue; // these very calls
            total[method] = (total[method] ?? 0) + Number(n);
          }
        } finally {
          client.close();
        }
      }
      return total;
    },
    async stop(name) {
      await Promise.all(replicas.get(name)!.map((r) => stopReplica(r, 'SIGTERM')));
    },
    async start(name, index) {
      const list = replicas.get(name)!.filter((r) => !r.child && (index === undefined || r.index === index));
      await Promise.all(list.map(launch));
    },
    kill: (name, index = 0) => stopReplica(replica(name, index), 'SIGKILL'),
    output: (name, index = 0) => (name === 'gateway' ? (gateway?.output ?? '') : replica(name, index).output),
    metricsUrl: (name, index = 0) => {
      const r = name === 'gateway' ? gateway : replica(name, index);
      if (!r) throw new Error('no gateway in this system');
      return `http://127.0.0.1:${r.metricsPort}/metrics`;
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
      if (gateway) await stopReplica(gateway, 'SIGTERM');
      for (const name of [...names].reverse()) await Promise.all(replicas.get(name)!.map((r) => stopReplica(r, 'SIGTERM')));
      await nats.nc.drain();
      for (const opened of stores.values()) await (await opened).close();
      await natsServer.stop();
      await issuer.close();
      await storage.dispose();
      await rm(dataDir, { recursive: true, force: true });
      await rm(authDir, { recursive: true, force: true });
    },
  };
}
