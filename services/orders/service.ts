// Starts one orders replica: runtime (NATS, storage, event store + relay), the catalog client,
// the OrderService gRPC server, the three reply consumers and the saga's timers. main.ts and the
// tests both start it here.
import {
  commonEnv,
  int,
  list,
  parseEnv,
  startService,
  str,
  type EnvVar,
  type RunningService,
  type ServiceOverrides,
} from '../platform/index.js';
import { ordersGrpc } from './grpc.js';
import { replyHandler, replyRetry, replyStreams } from './handlers.js';
import { createOrders } from './orders.js';
import { connectCatalog, type Catalog } from './pricing.js';
import { defaultPlan, parsePlan, stepDefinitions, stepNames, type SagaTiming, type StepName } from './saga.js';
import { ordersSubgraph } from './subgraph.js';
import { startSagaTimers } from './timers.js';
import { orderSecrets, orderViews } from './views.js';

/** The saga's steps in the order they run, e.g. `charge-payment,reserve-stock,schedule-shipment`. */
function sagaSteps(): EnvVar<StepName[]> {
  const inner = list({ default: defaultPlan.map((s) => stepDefinitions[s].configName) });
  return { describe: 'comma-separated saga steps, each once', parse: (raw) => parsePlan(inner.parse(raw)) };
}

/** Milliseconds, or undefined when unset (then a wider setting applies). */
function optionalMillis(): EnvVar<number | undefined> {
  const inner = int({ min: 1, max: 3_600_000 });
  return { describe: `optional ${inner.describe}`, parse: (raw) => (raw === undefined ? undefined : inner.parse(raw)) };
}

/** The variable that overrides one step's deadline, e.g. `SAGA_CHARGE_PAYMENT_DEADLINE_MS`. */
export const stepDeadlineVariable = <S extends StepName>(step: S) => `SAGA_${step.toUpperCase() as Uppercase<S>}_DEADLINE_MS` as const;

/** The variables orders reads: the common ones, where the catalog is, and the saga's shape and timing. */
export const ordersEnv = {
  ...commonEnv,
  /** host:port of inventory's gRPC server, which prices orders. */
  INVENTORY_GRPC_TARGET: str({ default: '127.0.0.1:50052', maxLength: 200 }),
  /** Deadline of the pricing call to inventory; PlaceOrder answers UNAVAILABLE when it passes. */
  INVENTORY_DEADLINE_MS: int({ default: 2_000, min: 1, max: 60_000 }),
  /** The saga's steps, in order; each of reserve-stock, charge-payment, schedule-shipment once. */
  SAGA_STEPS: sagaSteps(),
  /** How long a participant has to answer a step before it counts as failed. */
  SAGA_STEP_DEADLINE_MS: int({ default: 10_000, min: 1, max: 3_600_000 }),
  /** Per-step deadlines; each defaults to SAGA_STEP_DEADLINE_MS. */
  SAGA_RESERVE_STOCK_DEADLINE_MS: optionalMillis(),
  SAGA_CHARGE_PAYMENT_DEADLINE_MS: optionalMillis(),
  SAGA_SCHEDULE_SHIPMENT_DEADLINE_MS: optionalMillis(),
  /** Longest wait between re-sends of an unanswered compensation (they back off from the step's deadline). */
  SAGA_COMPENSATION_MAX_RETRY_MS: int({ default: 60_000, min: 1, max: 3_600_000 }),
  /** How often each replica looks for overdue steps. */
  SAGA_TIMER_INTERVAL_MS: int({ default: 1_000, min: 10, max: 600_000 }),
  /** Replies one replica handles at once per participant stream (different orders proceed in parallel). */
  ORDERS_REPLY_CONCURRENCY: int({ default: 16, min: 1, max: 256 }),
} satisfies Record<string, EnvVar<unknown>>;

type OrdersConfig = ReturnType<typeof parseEnv<typeof ordersEnv>>;

/** The saga's timing from the configuration. */
export function sagaTiming(config: OrdersConfig): SagaTiming {
  const deadlineMs = Object.fromEntries(
    stepNames.map((step) => [step, config[stepDeadlineVariable(step)] ?? config.SAGA_STEP_DEADLINE_MS]),
  ) as Record<StepName, number>;
  return { deadlineMs, maxRetryDelayMs: config.SAGA_COMPENSATION_MAX_RETRY_MS };
}

/** A running orders replica. */
export type OrdersService = RunningService;

/** What tests may replace: the logger, a store shared by replicas, the clock, the catalog. */
export interface OrdersOverrides extends ServiceOverrides {
  /** Default: inventory over gRPC at INVENTORY_GRPC_TARGET. Not closed by the service. */
  catalog?: Catalog;
}

export async function bootOrders(env: Record<string, string | undefined>, overrides: OrdersOverrides = {}): Promise<OrdersService> {
  const config = parseEnv(ordersEnv, env);
  const timing = sagaTiming(config);
  const now = overrides.now ?? (() => new Date());
  return startService('orders', config, overrides, async (runtime) => {
    const views = orderViews(runtime.store);
    const secrets = orderSecrets(runtime.store);
    await views.createIndexes();
    await secrets.createIndexes();
    const orders = createOrders({ events: runtime.events, views, secrets, timing, plan: config.SAGA_STEPS, logger: runtime.logger });
    const catalog =
      overrides.catalog ??
      runtime.lifecycle.add('catalog client', connectCatalog(config.INVENTORY_GRPC_TARGET, config.INVENTORY_DEADLINE_MS, runtime.serviceAuthorization), async (c) => c.close());
    const grpc = await runtime.serveGrpc([ordersGrpc({ orders, views, catalog, now }, runtime.logger)], {
      port: config.GRPC_PORT,
      host: config.GRPC_HOST,
    });
    for (const { context, stream, durable } of replyStreams) {
      await runtime.consume({
        stream,
        consumer: { durable, ...replyRetry },
        handler: replyHandler(context, orders, now),
        concurrency: config.ORDERS_REPLY_CONCURRENCY,
      });
    }
    // Registered last, so it stops first at shutdown: no deadline fires into a closing runtime.
    const timers = startSagaTimers({ orders, views, secrets, now, logger: runtime.logger, intervalMs: config.SAGA_TIMER_INTERVAL_MS });
    runtime.lifecycle.add('saga timers', timers, (t) => t.stop());
    runtime.logger.info(
      { grpcPort: grpc.port, plan: config.SAGA_STEPS, deadlineMs: timing.deadlineMs, inventory: config.INVENTORY_GRPC_TARGET },
      'orders started',
    );
    return grpc;
  }, ordersSubgraph);
}
