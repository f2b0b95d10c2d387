// Integration-test kit for payments: a real nats-server, one shared store, replicas started
// through bootPayments exactly as main.ts starts them, a sender that publishes commands like the
// saga does, an observer that reads every event payments publishes, and the gateway's ledger.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { PaymentServiceService } from '../../generated/orderflow/payments/v1/payments_service.js';
import {
  Commands,
  connectNats,
  encodeMessage,
  grpcClient,
  jetStreamPublisher,
  listDeadLetters,
  silentLogger,
  type DeadLetter,
  type DocumentStore,
  type GrpcClient,
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
import { bootPayments, paymentsCommandsConsumer, type PaymentsOverrides, type PaymentsService } from './service.js';
import { readGatewayLedger, type GatewayLedger } from './simulated-gateway.js';

export type { Observed };

export const eur = (amountMinor: number): Money => ({ amountMinor, currency: 'EUR' });

/** Settings every test replica runs with: a fast gateway and short redelivery backoff. */
export const fastEnv: Record<string, string> = {
  PAYMENT_GATEWAY_LATENCY_MS: '2',
  PAYMENT_COMMAND_BACKOFF_MS: '50,100',
  PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: '1500',
  LOG_LEVEL: 'info',
};

export { bufCurl };

export interface PaymentsHarness {
  nats: Nats;
  store: DocumentStore;
  replicas: PaymentsService[];
  /** Every log line of every replica, parsed. */
  logLines: Record<string, unknown>[];
  /** Starts another replica sharing the store (own NATS connection, gRPC server, consumer). */
  boot(): Promise<PaymentsService>;
  client(replica?: PaymentsService): GrpcClient<typeof PaymentServiceService>;
  /** Publishes ChargePayment as the saga does (a fresh message id each time, as a resend has); returns the id. */
  charge(orderId: string, token: string, options?: { amount?: Money | undefined; customerId?: string; id?: string }): Promise<string>;
  /** Publishes RefundPayment as the saga does; returns the message id. */
  refund(orderId: string, reason?: string, id?: string): Promise<string>;
  /** Publishes raw bytes on a subject with a type header, for poison messages. */
  sendRaw(subject: string, type: string, data: Uint8Array, correlationId: string): Promise<void>;
  /** Events observed for an order, in publish order. */
  answers(orderId: string): Observed[];
  /** Waits until an order has `count` events published, and returns them. */
  waitForAnswers(orderId: string, count: number, timeoutMs?: number): Promise<Observed[]>;
  /** What the simulated gateway holds for the order. */
  ledger(orderId: string): Promise<GatewayLedger>;
  deadLetters(): Promise<DeadLetter[]>;
  /** Waits until every command sent is handled, every commit relayed and every event observed. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startPaymentsHarness(env: Record<string, string> = {}, overrides: PaymentsOverrides = {}): Promise<PaymentsHarness> {
  const server: TestNatsServer = await startNatsServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-payments-'));
  const storage = testStorage(dataDir);
  const store = await storage.open('payments');
  const { logger, lines: logLines } = captureLogs('payments');
  const replicas: PaymentsService[] = [];
  const clients: GrpcClient<typeof PaymentServiceService>[] = [];

  const boot = async () => {
    const replica = await bootPayments(
      { NATS_URL: server.url, ...storage.env, GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRPC_PORT: '0', ...fastEnv, ...env },
      { logger: logger.child({ replica: replicas.length + 1 }), store, ...overrides },
    );
    replicas.push(replica);
    return replica;
  };
  await boot();

  const nats = await connectNats({ url: server.url, name: 'payments-test', logger: silentLogger() });
  const publisher = jetStreamPublisher(nats);
  const observer: EventObserver = await observeEvents(nats, 'PAYMENTS_EVENTS');
  const answers = (orderId: string) => observer.forOrder(orderId);

  return {
    nats,
    store,
    replicas,
    logLines,
    boot,
    client(replica = replicas[0]!) {
      const client = grpcClient(PaymentServiceService, replica.grpcAddress);
      clients.push(client);
      return client;
    },
    async charge(orderId, token, options = {}) {
      const id = options.id ?? randomUUID();
      const value = { orderId, customerId: options.customerId ?? 'cus_1', amount: 'amount' in options ? options.amount : eur(4999), paymentToken: token };
      const data = encodeMessage(Commands.ChargePayment, value);
      await publisher.publish({ subject: Commands.ChargePayment.subject, id, type: Commands.ChargePayment.type, data, correlationId: orderId });
      return id;
    },
    async refund(orderId, reason = 'order cancelled', id = randomUUID()) {
      const data = encodeMessage(Commands.RefundPayment, { orderId, reason });
      await publisher.publish({ subject: Commands.RefundPayment.subject, id, type: Commands.RefundPayment.type, data, correlationId: orderId });
      return id;
    },
    async sendRaw(subject, type, data, correlationId) {
      await publisher.publish({ subject, id: randomUUID(), type, data, correlationId });
    },
    answers,
    waitForAnswers: (orderId, count, timeoutMs) =>
      waitFor(
        `${count} event(s) for ${orderId}`,
        () => {
          const found = answers(orderId);
          if (found.length >= count) return found;
          throw new Error(`events so far: ${found.map((o) => o.type).join(', ') || 'none'}`);
        },
        timeoutMs ? { timeoutMs } : {},
      ),
    ledger: (orderId) => readGatewayLedger(store, orderId),
    async deadLetters() {
      // listDeadLetters asks an empty stream for sequence 0, which the server rejects; see the report.
      const { messages } = (await nats.jsm.streams.info('DEAD_LETTERS')).state;
      return messages === 0 ? [] : listDeadLetters(nats);
    },
    async settled() {
      await consumerDrained(nats, 'PAYMENTS_COMMANDS', paymentsCommandsConsumer);
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
