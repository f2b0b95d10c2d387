// Integration-test kit for shipping: a real nats-server, one shared store, replicas started
// through bootShipping exactly as main.ts starts them, a sender that publishes commands like the
// saga does, and an observer that reads every event shipping publishes.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { ShippingServiceService } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import {
  Commands,
  connectNats,
  createLogger,
  decodeMessage,
  encodeMessage,
  grpcClient,
  jetStreamPublisher,
  openDocumentStore,
  runConsumer,
  silentLogger,
  type CommandContract,
  type DocumentStore,
  type GrpcClient,
  type Logger,
  type MessageOf,
  type Nats,
  type RunningConsumer,
} from '../platform/index.js';
import { startNatsServer, waitFor, type TestNatsServer } from '../platform/testing/index.js';
import { bootShipping, shippingCommandsConsumer, type ShippingService } from './service.js';

/** An event shipping published, as the observer read it from SHIPPING_EVENTS. */
export interface Observed {
  id: string;
  type: string;
  correlationId: string;
  causationId: string | undefined;
  data: Record<string, unknown>;
}

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

const run = promisify(execFile);
const buf = new URL('../../node_modules/.bin/buf', import.meta.url).pathname;

/** Runs `buf curl` over plaintext HTTP/2 through reflection, as a user would from a shell. */
export async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await run(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args], { timeout: 20_000 });
  return stdout;
}

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
  const store = await openDocumentStore({ dataDir });
  const logLines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger: Logger = createLogger({ service: 'shipping', level: 'info', destination });
  const replicas: ShippingService[] = [];
  const clients: GrpcClient<typeof ShippingServiceService>[] = [];

  const boot = async () => {
    const replica = await bootShipping(
      { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...env },
      { logger: logger.child({ replica: replicas.length + 1 }), store, now: () => testNow },
    );
    replicas.push(replica);
    return replica;
  };
  await boot();

  const nats = await connectNats({ url: server.url, name: 'shipping-test', logger: silentLogger() });
  const publisher = jetStreamPublisher(nats.js);
  const observed: Observed[] = [];
  const observer: RunningConsumer = await runConsumer({
    nats,
    stream: 'SHIPPING_EVENTS',
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

  // A consumer's pending count lags a publish slightly; its ack floor compared with the stream's
  // last sequence (read after the messages were stored) does not.
  const drained = async (stream: string, durable: string) => {
    const target = (await nats.jsm.streams.info(stream)).state.last_seq;
    return waitFor(`${stream}/${durable} to acknowledge up to ${target}`, async () => {
      const info = await nats.jsm.consumers.info(stream, durable);
      return (info.ack_floor.stream_seq >= target && info.num_ack_pending === 0) || { ackFloor: info.ack_floor.stream_seq, ackPending: info.num_ack_pending };
    });
  };
  const answers = (orderId: string) => observed.filter((o) => o.correlationId === orderId);

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
      await drained('SHIPPING_COMMANDS', shippingCommandsConsumer);
      await waitFor('the outbox to be relayed', async () => (await store.collection('commits').countDocuments({ published: false })) === 0);
      await drained('SHIPPING_EVENTS', 'test-observer');
    },
    async close() {
      for (const client of clients) client.close();
      await observer.stop();
      for (const replica of replicas) await replica.close();
      await nats.nc.drain();
      await store.close();
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
