/**
 * Rebuilds one read model of a running query service from the start of its streams:
 *   node --import tsx services/query/rebuild.ts <order_views|product_availability>
 * It asks the service (QUERY_GRPC_TARGET, default 127.0.0.1:50056) through its admin call, because
 * the service owns its store; progress and the result are printed. The call is an admin's:
 * ORDERFLOW_TOKEN holds an admin token (`npm run token -- --admin`).
 */
import { QueryServiceService } from '../../generated/orderflow/query/v1/query_service.js';
import { grpcClient, readGrpcFailure } from '../platform/index.js';
import { projectionNames } from './views.js';

const projection = process.argv[2] ?? '';
const target = process.env.QUERY_GRPC_TARGET ?? '127.0.0.1:50056';
if (!projectionNames.includes(projection as (typeof projectionNames)[number])) {
  process.stderr.write(`usage: rebuild.ts <${projectionNames.join('|')}>\n`);
  process.exit(2);
}
const token = process.env.ORDERFLOW_TOKEN;
const client = grpcClient(QueryServiceService, target, { deadlineMs: 600_000, ...(token ? { authorization: `Bearer ${token}` } : {}) });
process.stdout.write(`rebuilding ${projection} on ${target}...\n`);
const started = Date.now();
try {
  const { eventsReplayed } = await client.rebuildProjection({ projection });
  process.stdout.write(`rebuilt ${projection}: ${eventsReplayed} events replayed in ${Date.now() - started} ms\n`);
} catch (err) {
  const failure = readGrpcFailure(err as Parameters<typeof readGrpcFailure>[0]);
  process.stderr.write(`rebuild failed: ${failure.message}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
