// The gateway process: `npm run gateway`, or `npm run service -- gateway`.
import {
  authenticatorFrom,
  ConfigError,
  connectNats,
  createLogger,
  ensureStream,
  Events,
  inboxPrefixOf,
  Lifecycle,
  parseEnv,
  ProcessHealth,
  serveMetrics,
  startTracing,
  streamFor,
  watchNats,
} from '../services/platform/index.js';
import { gatewayEnv, subgraphPorts, subgraphUrlVariable, type SubgraphName } from './config.js';
import { startGateway } from './server.js';

async function main(): Promise<void> {
  const config = parseEnv(gatewayEnv, process.env);
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  // From the start: a stop while connecting closes what is open so far.
  lifecycle.closeOnSignals();
  // Before Apollo starts: @apollo/gateway emits its spans through the registered provider.
  const tracing = startTracing({ serviceName: config.OTEL_SERVICE_NAME, endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, logger });
  lifecycle.add('tracing', tracing, (t) => t.shutdown());
  // Serving once NATS is connected (subscriptions read it) and the supergraph is composed.
  const health = new ProcessHealth(logger, ['nats', 'supergraph']);
  lifecycle.add(
    'metrics server',
    await serveMetrics({ port: config.METRICS_PORT, host: config.METRICS_HOST, logger, health: () => health.report() }),
    (m) => m.close(),
  );
  const nats = lifecycle.add(
    'nats',
    await connectNats({
      url: config.NATS_URL,
      name: 'gateway',
      logger,
      credentials: { user: config.NATS_USER, password: config.NATS_PASSWORD, nkeySeed: config.NATS_NKEY_SEED },
      inboxPrefix: inboxPrefixOf('gateway'),
    }),
    (n) => n.nc.drain(),
  );
  watchNats(nats.nc, health);
  // Subscriptions read the orders' events; the stream may not exist yet if the gateway starts first.
  await ensureStream(nats.jsm, streamFor(Events.OrderPlaced), (drift) => logger.warn(drift));
  const auth = authenticatorFrom(config, logger);
  const gateway = await startGateway({
    auth,
    subgraphs: (Object.keys(subgraphPorts) as SubgraphName[]).map((name) => ({ name, url: (config as Record<string, unknown>)[subgraphUrlVariable(name)] as string })),
    js: nats.js,
    logger,
    port: config.GATEWAY_PORT,
    host: config.GATEWAY_HOST,
    limits: { maxDepth: config.GRAPHQL_MAX_DEPTH, maxFields: config.GRAPHQL_MAX_FIELDS, maxCost: config.GATEWAY_MAX_COST },
    maxTokens: config.GRAPHQL_MAX_TOKENS,
    maxSubscriptionsPerSocket: config.GATEWAY_MAX_SUBSCRIPTIONS_PER_SOCKET,
    allowedOrigins: config.GATEWAY_ALLOWED_ORIGINS,
    pollIntervalMs: config.SUPERGRAPH_POLL_INTERVAL_MS,
  });
  lifecycle.add('gateway', gateway, (g) => g.close());
  void gateway.ready().then(() => health.set('supergraph', true));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`gateway: ${err.message}\n`);
    process.exit(2);
  }
  createLogger({ service: 'gateway' }).fatal({ err }, 'start-up failed');
  process.exit(1);
});
