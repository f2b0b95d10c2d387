// Integration-test kit for inventory: a real nats-server, one shared store, replicas started
// through bootInventory exactly as main.ts starts them, a sender that publishes commands like the
// saga does, and an observer that reads every event inventory publishes.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { InventoryServiceService } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import {
  connectNats,
  createLogger,
  decodeMessage,
  encodeMessage,
  grpcClient,
  jetStreamPublisher,
  runConsumer,
  silentLogger,
  type Contract,
  type DocumentStore,
  type GrpcClient,
  type Logger,
  type Nats,
  type RunningConsumer,
} from '../platform/index.js';
import { consumerDrained, startNatsServer, waitFor, type TestNatsServer, testStorage } from '../platform/testing/index.js';
import { holdsCollection, type HoldDocument } from './holds.js';
import { productsCollection, type ProductDocument } from './product.js';
import { bootInventory, inventoryCommandsConsumer, type InventoryService } from './service.js';

/** An event inventory published, as the observer read it from INVENTORY_EVENTS. */
export interface Observed {
  id: string;
  type: string;
  correlationId: string;
  causationId: string | undefined;
  data: Record<string, unknown>;
}

/** The clock every replica reads: fixed, so events can be compared exactly. */
export const testNow = new Date('2030-03-01T12:00:00.000Z');

const run = promisify(execFile);
const buf = new URL('../../node_modules/.bin/buf', import.meta.url).pathname;

/** Runs `buf curl` over plaintext HTTP/2 through reflection, as a user would from a shell. */
export async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await run(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], { timeout: 20_000 });
  return stdout;
}

export type InventoryClient = GrpcClient<typeof InventoryServiceService>;

export interface InventoryHarness {
  nats: Nats;
  /** The test nats-server, for other services started beside inventory. */
  natsUrl: string;
  store: DocumentStore;
  dataDir: string;
  /** Replicas started so far; the first is started by `startInventoryHarness`. */
  replicas: InventoryService[];
  /** Every log line of every replica, parsed. */
  logLines: Record<string, unknown>[];
  /** Starts another replica sharing the store (own NATS connection, gRPC server, consumer). */
  boot(): Promise<InventoryService>;
  /** A typed gRPC client of a replica (default the first). */
  client(replica?: InventoryService): InventoryClient;
  /** Publishes a command as the saga does; returns its message id. */
  send<T>(contract: Contract<T>, value: T & { orderId: string }, id?: string): Promise<string>;
  /** Publishes raw bytes on a subject with a type header, for poison messages. */
  sendRaw(subject: string, type: string, data: Uint8Array, correlationId: string): Promise<void>;
  /** Every event observed so far, in publish order. */
  observed: Observed[];
  /** Events observed for an order (or a product stream), in publish order. */
  answers(correlationId: string): Observed[];
  /** Waits until `count` events with this correlation id were published, and returns them. */
  waitForAnswers(correlationId: string, count: number): Promise<Observed[]>;
  /** The stored product document, marks included. */
  productDoc(sku: string): Promise<ProductDocument | null>;
  /** Units each order holds of the product: its held hold documents, and holds kept in the product document by an earlier release. */
  heldUnits(sku: string): Promise<Record<string, number>>;
  /**
   * Waits until every command sent has been handled, every commit relayed and every published
   * event observed, so "exactly one answer" can be asserted without sleeping.
   */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startInventoryHarness(): Promise<InventoryHarness> {
  const server: TestNatsServer = await startNatsServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-inventory-'));
  const storage = testStorage(dataDir);
  const store = await storage.open('inventory');
  const logLines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger: Logger = createLogger({ service: 'inventory', level: 'info', destination });
  const replicas: InventoryService[] = [];
  const clients: InventoryClient[] = [];

  const boot = async () => {
    const replica = await bootInventory(
      { NATS_URL: server.url, ...storage.env, GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRPC_PORT: '0' },
      { logger: logger.child({ replica: replicas.length + 1 }), store, now: () => testNow },
    );
    replicas.push(replica);
    return replica;
  };
  await boot();

  const nats = await connectNats({ url: server.url, name: 'inventory-test', logger: silentLogger() });
  const publisher = jetStreamPublisher(nats);
  const observed: Observed[] = [];
  const observer: RunningConsumer = await runConsumer({
    nats,
    stream: 'INVENTORY_EVENTS',
    consumer: { durable: 'test-observer' },
    logger: silentLogger(),
    handler: async (m) => {
      observed.push({
        id: m.metadata.id,
        type: m.metadata.type,
        correlationId: m.metadata.correlationId,
        causationId: m.metadata.causationId,
        data: decodeMessage(m.metadata.type, m.data) as Record<string, unknown>,
      });
    },
  });

  const drained = (stream: string, durable: string) => consumerDrained(nats, stream, durable, { timeoutMs: 30_000 });
  const answers = (correlationId: string) => observed.filter((o) => o.correlationId === correlationId);

  return {
    nats,
    natsUrl: server.url,
    store,
    dataDir,
    replicas,
    logLines,
    boot,
    observed,
    client(replica = replicas[0]!) {
      const client = grpcClient(InventoryServiceService, replica.grpcAddress);
      clients.push(client);
      return client;
    },
    async send(contract, value, id = randomUUID()) {
      await publisher.publish({ subject: contract.subject, id, type: contract.type, data: encodeMessage(contract, value), correlationId: value.orderId });
      return id;
    },
    async sendRaw(subject, type, data, correlationId) {
      await publisher.publish({ subject, id: randomUUID(), type, data, correlationId });
    },
    answers,
    waitForAnswers: (correlationId, count) =>
      waitFor(`${count} event(s) for ${correlationId}`, () => {
        const found = answers(correlationId);
        return found.length >= count ? found : false;
      }),
    productDoc: (sku) => store.collection<ProductDocument>(productsCollection).findOne({ _id: sku }),
    async heldUnits(sku) {
      const doc = await store.collection<ProductDocument>(productsCollection).findOne({ _id: sku });
      const held: Record<string, number> = {};
      for (const [key, units] of Object.entries(doc?.holds ?? {})) held[decodeURIComponent(key)] = units;
      for (const hold of await store.collection<HoldDocument>(holdsCollection).find({ sku, state: 'held' })) held[hold.orderId] = hold.units;
      return held;
    },
    async settled() {
      await drained('INVENTORY_COMMANDS', inventoryCommandsConsumer);
      await waitFor('the outbox to be relayed', async () => (await store.collection('commits').countDocuments({ published: false })) === 0);
      await drained('INVENTORY_EVENTS', 'test-observer');
    },
    async close() {
      for (const client of clients) client.close();
      await observer.stop();
      for (const replica of replicas) await replica.close();
      await nats.nc.drain();
      await store.close();
      await storage.dispose();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
