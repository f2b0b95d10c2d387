// Integration-test kit for shipping: a real nats-server, one shared store, replicas started
// through bootShipping exactly as main.ts starts them, a sender that publishes commands like the
// saga does, and an observer that reads every event shipping publishes.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShippingServiceService } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import {
  Commands,
  connectNats,
  encodeMessage,
  grpcClient,
  jetStreamPublisher,
  silentLogger,
  type CommandContract,
  type DocumentStore,
  type GrpcClient,
  type MessageOf,
  type Nats,
} from '../platform/index.js';
import {
  bufCurl,
  captureLogs,
  consumerDrained,
  observeEvents,
  startNatsServer,
  waitFor,
  type EventObserver,
  type Observed,
  type TestNatsServer, testStorage } from '../platform/testing/index.js';
import { bootShipping, shippingCommandsConsumer, type ShippingService } from './service.js';

export type { Observed };

/** The clock every replica's decider reads: fixed, so estimated deliveries are exact. */
export const testNow = new Date('2030-03-01T12:00:00.000Z');

export const berlin: Address = {
  recipient: 'Ada Lovelace',
  line1: 'Hauptstr. 1',
  line2: '',
  city: 'Berlin',
  region: '',
  postalCode: '10115',
  country: 'DE',
};

export { bufCurl };

export interface ShippingHarness {
  nats: Nats;
  store: DocumentStore;
  /** Replicas started so far; the first is started by `startShippingHarness`. */
  replicas: ShippingService[];
  /** Every log line of every replica, parsed. */
  logLines: Record<string, unknown>[];
  /** Starts another replica sharing the store (own NATS connection, gRPC server, consumer). */
  boot(): Promise<ShippingService>;
  /** A typed gRPC client of a replica (default the first). */
  client(replica?: ShippingService): GrpcClient<typeof ShippingServiceService>;
  /** Publishes a command as the saga does; returns its message id. */
  send<C extends CommandContract>(contract: C, value: MessageOf<C>, id?: string): Promise<string>;
  /** Publishes raw bytes on a subject with a type header, for poison messages. */
  sendRaw(subject: string, type: string, data: Uint8Array, correlationId: string): Promise<void>;
  /** Events observed for an order, in publish order. */
  answers(orderId: string): Observed[];
  /** Waits until an order has `count` events published (and returns them). */
  waitForAnswers(orderId: string, count: number): Promise<Observed[]>;
  /**
   * Waits until every command sent has been handled, every commit relayed and every published
   * event observed, so "exactly one answer" can be asserted without sleeping.
   */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startShippingHarness(env: Record<string, string> = {}): Promise<ShippingHarness> {
  const server: TestNatsServer = await startNatsServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-shipping-'));
  const storage = testStorage(dataDir);
  const store = await storage.open('shipping');
  const { logger, lines: logLines } = captureLogs('shipping');
  const replicas: ShippingService[] = [];
  const clients: GrpcClient<typeof ShippingServiceService>[] = [];

  const boot = async () => {
    const replica = await bootShipping(
      { NATS_URL: server.url, ...storage.env, GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRPC_PORT: '0', ...env },
      { logger: logger.child({ replica: replicas.length + 1 }), store, now: () => testNow },
    );
    replicas.push(replica);
    return replica;
  };
  await boot();

  const nats = await connectNats({ url: server.url, name: 'shipping-test', logger: silentLogger() });
  const publisher = jetStreamPublisher(nats);
  const observer: EventObserver = await observeEvents(nats, 'SHIPPING_EVENTS');
  const answers = (orderId: string) => observer.forOrder(orderId);

  return {
    nats,
    store,
    replicas,
    logLines,
    boot,
    client(replica = replicas[0]!) {
      const client = grpcClient(ShippingServiceService, replica.grpcAddress);
      clients.push(client);
      return client;
    },
    async send(contract, value, id = randomUUID()) {
      const orderId = (value as { orderId: string }).orderId;
      await publisher.publish({
        subject: contract.subject,
        id,
        type: contract.type,
        data: encodeMessage(contract as typeof Commands.ScheduleShipment, value as MessageOf<typeof Commands.ScheduleShipment>),
        correlationId: orderId,
      });
      return id;
    },
    async sendRaw(subject, type, data, correlationId) {
      await publisher.publish({ subject, id: randomUUID(), type, data, correlationId });
    },
    answers,
    waitForAnswers: (orderId, count) =>
      waitFor(`${count} event(s) for ${orderId}`, () => {
        const found = answers(orderId);
        return found.length >= count ? found : false;
      }),
    async settled() {
      await consumerDrained(nats, 'SHIPPING_COMMANDS', shippingCommandsConsumer);
      await waitFor('the outbox to be relayed', async () => (await store.collection('commits').countDocuments({ published: false })) === 0);
      await observer.drained();
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
