// Starts one inventory replica: runtime (NATS, storage, event store + relay), the catalog's
// start-up repair, the InventoryService gRPC server and the `inventory-commands` consumer.
// main.ts and the tests both start it here.
import {
  commonEnv,
  int,
  parseEnv,
  startRuntime,
  streams,
  type DocumentStore,
  type Logger,
  type Runtime,
} from '../platform/index.js';
import { createCatalog } from './catalog.js';
import { inventoryGrpc } from './grpc.js';
import { inventoryCommandHandler } from './handlers.js';
import { createReservations } from './reservations.js';
import { createStock } from './stock.js';

/** The variables inventory reads: the common ones plus its consumer's concurrency. */
export const inventoryEnv = {
  ...commonEnv,
  /** Stock commands one replica handles at the same time (different orders proceed in parallel). */
  INVENTORY_COMMAND_CONCURRENCY: int({ default: 8, min: 1, max: 256 }),
};

/** The name of the durable consumer every inventory replica shares. */
export const inventoryCommandsConsumer = 'inventory-commands';

/** A running inventory replica. */
export interface InventoryService {
  readonly runtime: Runtime;
  /** `<host>:<port>` of its gRPC server. */
  readonly grpcAddress: string;
  readonly grpcPort: number;
  close(): Promise<void>;
}

/** What tests may replace: the logger, a store shared by replicas, the clock. */
export interface InventoryOverrides {
  logger?: Logger;
  store?: DocumentStore;
  /** The clock of events and documents; default the system clock. */
  now?: () => Date;
}

export async function bootInventory(env: Record<string, string | undefined>, overrides: InventoryOverrides = {}): Promise<InventoryService> {
  const config = parseEnv(inventoryEnv, env);
  const now = overrides.now ?? (() => new Date());
  const runtime = await startRuntime({
    service: 'inventory',
    natsUrl: config.NATS_URL,
    mongodbUri: config.MONGODB_URI,
    dataDir: config.DATA_DIR,
    logLevel: config.LOG_LEVEL,
    streams,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    ...(overrides.store ? { store: overrides.store } : {}),
  });
  try {
    const catalog = await createCatalog({ store: runtime.store, events: runtime.events, logger: runtime.logger });
    // A catalog change whose event was not appended before a crash is finished before serving.
    await catalog.repairPending();
    const reservations = createReservations({ events: runtime.events, stock: createStock(runtime.store), logger: runtime.logger });
    const grpc = await runtime.serveGrpc([inventoryGrpc(catalog, now, runtime.logger)], { port: config.GRPC_PORT, host: config.GRPC_HOST });
    await runtime.consume({
      stream: 'INVENTORY_COMMANDS',
      consumer: { durable: inventoryCommandsConsumer },
      handler: inventoryCommandHandler(reservations, now),
      concurrency: config.INVENTORY_COMMAND_CONCURRENCY,
    });
    runtime.logger.info({ grpcPort: grpc.port }, 'inventory started');
    return { runtime, grpcAddress: grpc.address, grpcPort: grpc.port, close: () => runtime.close() };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}
