// Starts one payments replica: runtime (NATS, storage, event store + relay), the card gateway,
// the PaymentService gRPC server and the `payments-commands` consumer. main.ts and the tests both
// start it here.
import {
  commonEnv,
  consumerDefaults,
  int,
  list,
  parseEnv,
  startService,
  type EnvVar,
  type RunningService,
  type ServiceOverrides,
} from '../platform/index.js';
import type { CardGateway } from './gateway.js';
import { paymentsGrpc } from './grpc.js';
import { paymentCommandHandler } from './handlers.js';
import { createPayments } from './payments.js';
import { paymentRecords } from './records.js';
import { SimulatedCardGateway } from './simulated-gateway.js';
import { paymentsSubgraph } from './subgraph.js';

/** Comma-separated delays in milliseconds. */
function millisList(defaults: readonly number[]): EnvVar<number[]> {
  const inner = list({ default: defaults.map(String) });
  return {
    describe: 'comma-separated delays in milliseconds',
    parse: (raw) =>
      inner.parse(raw).map((item) => {
        if (!/^\d+$/.test(item) || Number(item) > 3_600_000) throw new Error(`must be whole milliseconds up to 3600000, got ${JSON.stringify(item)}`);
        return Number(item);
      }),
  };
}

/** The variables payments reads: the common ones, the simulated gateway's behaviour and the consumer's retry policy. */
export const paymentsEnv = {
  ...commonEnv,
  /** Delay of every simulated gateway call. */
  PAYMENT_GATEWAY_LATENCY_MS: int({ default: 20, min: 0, max: 60_000 }),
  /** Calls under one order that fail transiently for the token `tok_flaky` before it is approved. */
  PAYMENT_GATEWAY_FLAKY_FAILURES: int({ default: 2, min: 0, max: 1_000 }),
  /** How long `tok_timeout` keeps the charge waiting before it is approved (past the saga's step deadline). */
  PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: int({ default: 30_000, min: 0, max: 600_000 }),
  /** Commands one replica handles at the same time, so a slow gateway call does not hold up other orders. */
  PAYMENT_COMMAND_CONCURRENCY: int({ default: 32, min: 1, max: 1_024 }),
  /** Deliveries of a command; the last one answers PaymentFailed if the gateway is still unavailable. */
  PAYMENT_COMMAND_MAX_DELIVER: int({ default: consumerDefaults.maxDeliver, min: 1, max: 100 }),
  /** Delays before each redelivery after a failure; the last repeats. */
  PAYMENT_COMMAND_BACKOFF_MS: millisList(consumerDefaults.backoffMs),
};

/** The name of the durable consumer every payments replica shares. */
export const paymentsCommandsConsumer = 'payments-commands';

/** A running payments replica. */
export type PaymentsService = RunningService;

/** What tests may replace: the logger, a store shared by replicas, the card gateway, the clock. */
export interface PaymentsOverrides extends ServiceOverrides {
  /** Default: the simulated gateway over the service's store, configured from the environment. Not closed by the service. */
  gateway?: CardGateway;
}

export async function bootPayments(env: Record<string, string | undefined>, overrides: PaymentsOverrides = {}): Promise<PaymentsService> {
  const config = parseEnv(paymentsEnv, env);
  return startService('payments', config, overrides, async (runtime) => {
    const records = paymentRecords(runtime.store);
    await records.createIndexes();
    const simulated = overrides.gateway
      ? undefined
      : new SimulatedCardGateway({
          store: runtime.store,
          latencyMs: config.PAYMENT_GATEWAY_LATENCY_MS,
          flakyFailures: config.PAYMENT_GATEWAY_FLAKY_FAILURES,
          timeoutDelayMs: config.PAYMENT_GATEWAY_TIMEOUT_DELAY_MS,
        });
    await simulated?.createIndexes();
    const gateway = overrides.gateway ?? simulated!;
    const payments = createPayments({ events: runtime.events, records, gateway, logger: runtime.logger, now: overrides.now ?? (() => new Date()) });
    const grpc = await runtime.serveGrpc([paymentsGrpc(payments, records, runtime.logger)], { port: config.GRPC_PORT, host: config.GRPC_HOST });
    await runtime.consume({
      stream: 'PAYMENTS_COMMANDS',
      consumer: { durable: paymentsCommandsConsumer, maxDeliver: config.PAYMENT_COMMAND_MAX_DELIVER, backoffMs: config.PAYMENT_COMMAND_BACKOFF_MS },
      handler: paymentCommandHandler(payments, config.PAYMENT_COMMAND_MAX_DELIVER),
      concurrency: config.PAYMENT_COMMAND_CONCURRENCY,
    });
    // Registered after the consumer, so it closes first: a charge waiting on tok_timeout ends at
    // once (its message is redelivered) instead of holding shutdown for the whole delay.
    if (simulated) runtime.lifecycle.add('card gateway', simulated, (g) => g.close());
    runtime.logger.info(
      { grpcPort: grpc.port, gateway: simulated ? 'simulated' : 'injected', concurrency: config.PAYMENT_COMMAND_CONCURRENCY },
      'payments started',
    );
    return grpc;
  }, paymentsSubgraph);
}
