// Starts one shipping replica: runtime (NATS, storage, event store + relay), the ShippingService
// gRPC server and the `shipping-commands` consumer. main.ts and the tests both start it here.
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
import type { ShippingPolicy } from './decide.js';
import { shippingGrpc } from './grpc.js';
import { shippingCommandHandler } from './handlers.js';
import { createShipments } from './shipments.js';
import { shippingSubgraph } from './subgraph.js';

/** Comma-separated ISO 3166-1 alpha-2 codes, normalised to upper case. */
function countryCodes(defaults: string[]): EnvVar<string[]> {
  const inner = list({ default: defaults });
  return {
    describe: 'comma-separated ISO 3166-1 alpha-2 country codes',
    parse: (raw) => {
      const codes = inner.parse(raw).map((c) => c.toUpperCase());
      const bad = codes.filter((c) => !/^[A-Z]{2}$/.test(c));
      if (bad.length > 0) throw new Error(`must be two-letter country codes, got ${bad.map((c) => JSON.stringify(c)).join(', ')}`);
      return codes;
    },
  };
}

/** The variables shipping reads: the common ones plus its shipping policy. */
export const shippingEnv = {
  ...commonEnv,
  /** Countries shipping delivers to; an order to any other fails with ShipmentFailed. */
  SHIPPING_COUNTRIES: countryCodes(['DE', 'FR', 'NL', 'BE', 'AT', 'IT', 'ES', 'GB', 'US']),
  /** The carrier named on every scheduled shipment. */
  SHIPPING_CARRIER: str({ default: 'Orderflow Express', maxLength: 100 }),
  /** Calendar days from scheduling to the estimated delivery. */
  SHIPPING_TRANSIT_DAYS: int({ default: 3, min: 0, max: 90 }),
  /** Commands one replica handles at the same time (different orders proceed in parallel). */
  SHIPPING_COMMAND_CONCURRENCY: int({ default: 8, min: 1, max: 256 }),
};

/** The name of the durable consumer every shipping replica shares. */
export const shippingCommandsConsumer = 'shipping-commands';

/** A running shipping replica. */
export type ShippingService = RunningService;

/** What tests may replace: the logger, a store shared by replicas, the clock. */
export type ShippingOverrides = ServiceOverrides;

export async function bootShipping(env: Record<string, string | undefined>, overrides: ShippingOverrides = {}): Promise<ShippingService> {
  const config = parseEnv(shippingEnv, env);
  const policy: ShippingPolicy = {
    countries: config.SHIPPING_COUNTRIES,
    carrier: config.SHIPPING_CARRIER,
    transitDays: config.SHIPPING_TRANSIT_DAYS,
  };
  const now = overrides.now ?? (() => new Date());
  return startService('shipping', config, overrides, async (runtime) => {
    const shipments = createShipments({ events: runtime.events, store: runtime.store, policy, logger: runtime.logger });
    const grpc = await runtime.serveGrpc([shippingGrpc(shipments, now, runtime.logger)], {
      port: config.GRPC_PORT,
      host: config.GRPC_HOST,
    });
    await runtime.consume({
      stream: 'SHIPPING_COMMANDS',
      consumer: { durable: shippingCommandsConsumer },
      handler: shippingCommandHandler(shipments, now),
      concurrency: config.SHIPPING_COMMAND_CONCURRENCY,
    });
    runtime.logger.info({ grpcPort: grpc.port, countries: policy.countries, carrier: policy.carrier }, 'shipping started');
    return grpc;
  }, shippingSubgraph);
}
