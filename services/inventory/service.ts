// Starts one inventory replica: runtime (NATS, storage, event store + relay), the catalog's
// start-up repair, the InventoryService gRPC server and the `inventory-commands` consumer.
// main.ts and the tests both start it here.
import {
  commonEnv,
  int,
  parseEnv,
  startService,
  type RunningService,
  type ServiceOverrides,
} from '../platform/index.js';
import { createCatalog } from './catalog.js';
import { inventoryGrpc } from './grpc.js';
import { inventoryCommandHandler } from './handlers.js';
import { createReservations } from './reservations.js';
import { createStock } from './stock.js';
import { inventorySubgraph } from './subgraph.js';

/** The variables inventory reads: the common ones plus its consumer's concurrency. */
export const inventoryEnv = {
  ...commonEnv,
  /** Stock commands one replica handles at the same time (different orders proceed in parallel). */
  INVENTORY_COMMAND_CONCURRENCY: int({ default: 8, min: 1, max: 256 }),
};

/** The name of the durable consumer every inventory replica shares. */
export const inventoryCommandsConsumer = 'inventory-commands';

/** A running inventory replica. */
export type InventoryService = RunningService;

/** What tests may replace: the logger, a store shared by replicas, the clock. */
export type InventoryOverrides = ServiceOverrides;

export async function bootInventory(env: Record<string, string | undefined>, overrides: InventoryOverrides = {}): Promise<InventoryService> {
  const config = parseEnv(inventoryEnv, env);
  const now = overrides.now ?? (() => new Date());
  return startService('inventory', config, overrides, async (runtime) => {
    const catalog = await createCatalog({ store: runtime.store, events: runtime.events, logger: runtime.logger });
    // A catalog change whose event was not appended before a crash is finished before serving.
    await catalog.repairPending();
    const stock = await createStock(runtime.store);
    // So are the stock moves of attempts that died between moving a product and recording it.
    const repaired = await stock.repairMarks(now());
    if (repaired > 0) runtime.logger.info({ marks: repaired }, 'settled stock moves left by attempts that died');
    const reservations = createReservations({ events: runtime.events, stock, logger: runtime.logger });
    const grpc = await runtime.serveGrpc([inventoryGrpc(catalog, now, runtime.logger)], { port: config.GRPC_PORT, host: config.GRPC_HOST });
    await runtime.consume({
      stream: 'INVENTORY_COMMANDS',
      consumer: { durable: inventoryCommandsConsumer },
      handler: inventoryCommandHandler(reservations, now),
      concurrency: config.INVENTORY_COMMAND_CONCURRENCY,
    });
    runtime.logger.info({ grpcPort: grpc.port }, 'inventory started');
    return grpc;
  }, inventorySubgraph);
}
