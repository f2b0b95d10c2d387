// Starts one query replica: runtime, the QueryService gRPC server and the projection consumers
// (one durable per read model and stream, shared by replicas). main.ts and the tests start it here.
import { commonEnv, int, parseEnv, startService, type RunningService, type ServiceOverrides } from '../platform/index.js';
import { queryGrpc } from './grpc.js';
import { querySubgraph } from './subgraph.js';
import { createProjections, projectionSources, type Projections } from './projections.js';
import { projectionNames, readModels } from './views.js';

/** The variables query reads: the common ones plus the read-your-writes bound. */
export const queryEnv = {
  ...commonEnv,
  /** Longest a query waits for a read model to reach the asked order version. */
  QUERY_WAIT_MS: int({ default: 5_000, min: 0, max: 60_000 }),
  /** Events one replica applies at once per consumer. */
  QUERY_CONCURRENCY: int({ default: 8, min: 1, max: 256 }),
};

/** The durable of each read model and stream it is fed from, e.g. `query-order-views-orders`. */
export const projectionConsumers = projectionNames.flatMap((projection) =>
  projectionSources[projection].map((stream) => ({
    projection,
    stream,
    durable: `query-${projection.replace('_', '-')}-${stream.split('_')[0]!.toLowerCase()}`,
  })),
);

export interface QueryService extends RunningService {
  readonly projections: Projections;
}

export async function bootQuery(env: Record<string, string | undefined>, overrides: ServiceOverrides = {}): Promise<QueryService> {
  const config = parseEnv(queryEnv, env);
  let projections: Projections | undefined;
  const service = await startService('query', config, overrides, async (runtime) => {
    const models = readModels(runtime.store);
    await models.orders.createIndex({ customerId: 1, placedAt: -1 });
    await models.orders.createIndex({ placedAt: -1 });
    projections = createProjections(models, { waitMs: config.QUERY_WAIT_MS, logger: runtime.logger });
    // Registered before the consumers and gRPC, so closed after them: what they applied last is checkpointed.
    runtime.lifecycle.add('checkpoints', projections, (p) => p.close());
    const grpc = await runtime.serveGrpc([queryGrpc(models, projections, runtime.nats, runtime.logger)], { port: config.GRPC_PORT, host: config.GRPC_HOST });
    for (const { projection, stream, durable } of projectionConsumers) {
      await runtime.consume({ stream, consumer: { durable }, handler: projections.handler(projection), concurrency: config.QUERY_CONCURRENCY });
    }
    runtime.logger.info({ grpcPort: grpc.port }, 'query started');
    return grpc;
  }, querySubgraph);
  return { ...service, projections: projections! };
}
