import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { adminGrpc } from './admin/index.js';
import { authenticatorFrom, type Authenticator } from './auth/authenticator.js';
import { ConfigError, type commonEnv, type EnvVar } from './config.js';
import { streams } from './contracts.js';
import { createEventStore, type EventStore } from './eventstore/index.js';
import { startSubgraphServer, type SubgraphDefinition, type SubgraphServer } from './graphql/subgraph.js';
import { ServingStatus } from './grpc/health.js';
import { startGrpcServer, type GrpcServer, type ServiceBinding } from './grpc/server.js';
import { probeStorage, ProcessHealth, watchNats } from './health.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type Logger } from './logging.js';
import { runConsumer, type RunConsumerOptions, type RunningConsumer } from './messaging/consumer.js';
import { countDeadLetters } from './messaging/dead-letter.js';
import { jetStreamPublisher } from './messaging/envelope.js';
import { connectNats, deadLetterStream, ensureStream, redriveStream, type Nats, type StreamSpec } from './messaging/nats.js';
import { inboxPrefixOf, type NatsClientCredentials } from './messaging/nats-auth.js';
import { gauge, sampleAtScrape, serveMetrics } from './metrics.js';
import { startTracing } from './tracing.js';
import { openServiceStore, serviceDatabaseName, type DocumentStore } from './storage/index.js';

/** What a service process needs to start its runtime; each main.ts parses it from the environment. */
export interface RuntimeSettings {
  /** Service name: log field, NATS connection name, data subfolder. */
  service: string;
  natsUrl: string;
  /** The NATS user this service connects as (NATS_USER/NATS_PASSWORD or NATS_NKEY_SEED); none, anonymously. */
  natsCredentials?: NatsClientCredentials | undefined;
  /** When set, MongoDB (the service's own database); else the embedded engine under `<dataDir>/<service>`. */
  mongodbUri?: string | undefined;
  /** The service's MongoDB database; default `<db of the URI, or orderflow>_<service>`. */
  mongodbDatabase?: string | undefined;
  dataDir: string;
  logLevel?: string;
  /** Streams this service publishes to or consumes from; provisioned idempotently at start. */
  streams: readonly StreamSpec[];
  /** Overrides the logger (tests read lines back). */
  logger?: Logger;
  /** A store to use instead of opening one (tests hand replicas booted in one process the same store). */
  store?: DocumentStore;
  /** Where `/metrics` and `/healthz` are served; without it, nowhere (the metrics are still kept). */
  metrics?: { port: number; host?: string };
  /** Traces: the OTLP endpoint (unset, spans are not exported) and the spans' service name (default `service`). */
  tracing?: { endpoint?: string | undefined; serviceName?: string | undefined };
  /** Between storage probes of the health check. Default 5 s. */
  storageProbeIntervalMs?: number;
  /** Verifies callers of the gRPC server and the subgraph (see auth/). */
  auth: Authenticator;
  /** This service's own credential for its calls to other services (`Bearer <SERVICE_TOKEN>`). */
  serviceAuthorization?: string | undefined;
}

const deadLetters = gauge(
  'orderflow_dead_letters',
  'Dead letters waiting in the DEAD_LETTERS stream, by the stream and durable that failed them (read at scrape; every process reports the same stream, so aggregate with max)',
  ['stream', 'consumer'],
);
const outboxBacklog = gauge('orderflow_outbox_backlog_commits', 'Commits not yet published to NATS, counted at scrape, by service', ['service']);

const traceFlushTimeoutMs = 3_000;

async function flushWithin(tracing: { flush(): Promise<void> }, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`spans not exported within ${ms} ms; dropped`)), ms);
  });
  try {
    await Promise.race([tracing.flush(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The shared machinery of one service process. Closing it closes everything in reverse order. */
export interface Runtime {
  readonly service: string;
  readonly instanceId: string;
  readonly logger: Logger;
  readonly nats: Nats;
  readonly store: DocumentStore;
  /** The event store whose commits are relayed to JetStream by this process. */
  readonly events: EventStore;
  readonly lifecycle: Lifecycle;
  /** NATS and storage reachability; gRPC health and `/healthz` answer from it. */
  readonly health: ProcessHealth;
  /** Verifies callers' bearer tokens. */
  readonly auth: Authenticator;
  /** This service's own `Authorization` value for calls to other services, when it has a credential. */
  readonly serviceAuthorization: string | undefined;
  /** `http://<host>:<port>/metrics`, when served. */
  readonly metricsUrl: string | undefined;
  /** Starts the gRPC server with health, reflection, server info and AdminService; closed with the runtime. */
  serveGrpc(services: ServiceBinding[], options: { port: number; host?: string }): Promise<GrpcServer>;
  /** Serves the service's GraphQL subgraph over HTTP; closed with the runtime. */
  serveSubgraph(subgraph: SubgraphDefinition<any>, options: { port: number; host?: string }): Promise<SubgraphServer>;
  /** Runs a durable consumer on this process's connection; stopped first at shutdown. */
  consume(options: Omit<RunConsumerOptions, 'nats' | 'logger'>): Promise<RunningConsumer>;
  close(): Promise<void>;
}

/**
 * Connects to NATS, provisions the streams (and the dead-letter stream), opens storage and the
 * event store, and starts the outbox relay with its start-up sweep. Everything opened is
 * registered with the lifecycle, so SIGTERM drains in order: consumers, gRPC, relay, NATS, storage.
 */
export async function startRuntime(settings: RuntimeSettings): Promise<Runtime> {
  const instanceId = randomUUID().slice(0, 8);
  const logger = settings.logger ?? createLogger({ service: settings.service, level: settings.logLevel });
  const lifecycle = new Lifecycle(logger);
  const health = new ProcessHealth(logger, ['nats', 'storage']);
  const tracing = startTracing({ serviceName: settings.tracing?.serviceName ?? settings.service, endpoint: settings.tracing?.endpoint, logger });
  // Flushed, not shut down, at close: replicas in one process share the provider. Bounded, so an
  // absent collector (the exporter retries for seconds) does not hold up the stop.
  lifecycle.add('traces', tracing, (t) => flushWithin(t, traceFlushTimeoutMs));
  try {
    const metricsServer = settings.metrics
      ? lifecycle.add('metrics server', await serveMetrics({ ...settings.metrics, logger, health: () => health.report() }), (m) => m.close())
      : undefined;
    const store =
      settings.store ??
      lifecycle.add(
        'storage',
        await openServiceStore({
          service: settings.service,
          mongodbUri: settings.mongodbUri,
          mongodbDatabase: settings.mongodbDatabase,
          dataDir: settings.dataDir,
        }),
        (s) => s.close(),
      );
    logger.info(
      settings.mongodbUri
        ? { storage: store.kind, database: settings.mongodbDatabase ?? serviceDatabaseName(settings.mongodbUri, settings.service) }
        : { storage: store.kind, dir: join(settings.dataDir, settings.service) },
      'storage open',
    );
    lifecycle.add('storage probe', probeStorage(store, health, { intervalMs: settings.storageProbeIntervalMs }), async (stop) => stop());
    const nats = lifecycle.add(
      'nats',
      await connectNats({
        url: settings.natsUrl,
        name: `${settings.service}-${instanceId}`,
        logger,
        credentials: settings.natsCredentials,
        inboxPrefix: inboxPrefixOf(settings.service),
      }),
      (n) => n.nc.drain(),
    );
    watchNats(nats.nc, health);
    for (const spec of [deadLetterStream, redriveStream, ...settings.streams]) await ensureStream(nats.jsm, spec, (drift) => logger.warn(drift));
    const events = lifecycle.add(
      'outbox relay',
      createEventStore({ store, logger, publisher: jetStreamPublisher(nats) }),
      (e) => e.close(),
    );
    await events.start();
    const commits = store.collection<{ _id: string; published: boolean }>('commits');
    lifecycle.add(
      'outbox backlog sampler',
      sampleAtScrape(async () => outboxBacklog.set({ service: settings.service }, await commits.countDocuments({ published: false }))),
      async (unsample) => void unsample(),
    );
    lifecycle.add(
      'dead letter sampler',
      sampleAtScrape(async () => {
        const counts = await countDeadLetters(nats);
        // Reset, so a consumer whose letters were all redriven drops out instead of keeping its last count.
        deadLetters.reset();
        for (const { stream, consumer, count } of counts) deadLetters.set({ stream, consumer }, count);
      }),
      async (unsample) => void unsample(),
    );

    return {
      service: settings.service,
      instanceId,
      logger,
      nats,
      store,
      events,
      lifecycle,
      health,
      auth: settings.auth,
      serviceAuthorization: settings.serviceAuthorization,
      metricsUrl: metricsServer?.url,
      async serveGrpc(services, options) {
        const server = lifecycle.add(
          'grpc',
          await startGrpcServer({
            service: settings.service,
            services: [...services, adminGrpc({ nats, relay: events.relay, logger })],
            logger,
            auth: settings.auth,
            port: options.port,
            host: options.host,
          }),
          (s) => s.shutdown(),
        );
        // Every served service answers NOT_SERVING while NATS or storage is away.
        const unwatch = health.watch((serving) => server.health.setAll(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING));
        lifecycle.add('grpc health', unwatch, async (stop) => void stop());
        return server;
      },
      async serveSubgraph(subgraph, options) {
        const server = await startSubgraphServer({ service: settings.service, subgraph, logger, auth: settings.auth, port: options.port, host: options.host });
        return lifecycle.add('graphql subgraph', server, (s) => s.close());
      },
      async consume(options) {
        const consumer = await runConsumer({ ...options, nats, logger });
        return lifecycle.add(`consumer ${consumer.name}`, consumer, (c) => c.stop());
      },
      close: () => lifecycle.close(),
    };
  } catch (err) {
    await lifecycle.close();
    throw err;
  }
}

/** The common variables, parsed: what `startService` needs of a service's configuration. */
export type CommonConfig = { [K in keyof typeof commonEnv]: (typeof commonEnv)[K] extends EnvVar<infer T> ? T : never };

/** What tests may replace in any service: the logger, a store shared by replicas, the clock. */
export interface ServiceOverrides {
  logger?: Logger;
  store?: DocumentStore;
  /** The clock handed to deciders; default the system clock. */
  now?: () => Date;
}

/** A running service replica, as every `boot<Name>` returns it. */
export interface RunningService {
  readonly runtime: Runtime;
  /** `http://127.0.0.1:<port>/metrics` of its metrics server. */
  readonly metricsUrl: string | undefined;
  /** `127.0.0.1:<port>` (or the bound host) of its gRPC server. */
  readonly grpcAddress: string;
  readonly grpcPort: number;
  /** `http://127.0.0.1:<port>/graphql` of its GraphQL subgraph. */
  readonly graphqlUrl: string;
  /** gRPC calls this replica has answered, by method path. */
  grpcCalls(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * The start-up every service shares: the runtime from the common variables (every stream
 * provisioned), then the service's own `start`, which serves gRPC and starts its consumers, then
 * its GraphQL subgraph, whose resolvers call the gRPC server just started. A failure closes what
 * the runtime opened.
 */
export async function startService(
  service: string,
  config: CommonConfig,
  overrides: ServiceOverrides,
  start: (runtime: Runtime) => Promise<GrpcServer>,
  subgraph: (grpcTarget: string) => SubgraphDefinition<any>,
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger({ service, level: config.LOG_LEVEL });
  const auth = authenticatorFrom(config, logger);
  const runtime = await startRuntime({
    service,
    auth,
    ...(config.SERVICE_TOKEN || config.SERVICE_TOKEN_FILE ? { serviceAuthorization: `Bearer ${config.SERVICE_TOKEN ?? config.SERVICE_TOKEN_FILE}` } : {}),
    natsUrl: config.NATS_URL,
    natsCredentials: { user: config.NATS_USER, password: config.NATS_PASSWORD, nkeySeed: config.NATS_NKEY_SEED },
    mongodbUri: config.MONGODB_URI,
    mongodbDatabase: config.MONGODB_DATABASE,
    dataDir: config.DATA_DIR,
    logLevel: config.LOG_LEVEL,
    streams,
    metrics: { port: config.METRICS_PORT, host: config.METRICS_HOST },
    tracing: { endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME },
    logger,
    ...(overrides.store ? { store: overrides.store } : {}),
  });
  try {
    const grpc = await start(runtime);
    const graphql = await runtime.serveSubgraph(subgraph(grpc.address), { port: config.GRAPHQL_PORT, host: config.GRAPHQL_HOST });
    return {
      runtime,
      metricsUrl: runtime.metricsUrl,
      grpcAddress: grpc.address,
      grpcPort: grpc.port,
      graphqlUrl: graphql.url,
      grpcCalls: () => grpc.calls(),
      close: () => runtime.close(),
    };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

/**
 * Runs a service's `main`: a configuration error prints the variables at fault and exits 2; any
 * other start-up failure is logged and exits 1; once started, SIGTERM/SIGINT close it cleanly. A
 * signal that arrives while it is still starting is held, and honoured once start-up is done, so
 * a stop during start-up still drains instead of killing the process mid-way.
 */
export function runMain(service: string, main: () => Promise<Runtime>): void {
  let early: NodeJS.Signals | undefined;
  let started: Runtime | undefined;
  // One listener for the whole life of the process. Swapping a start-up listener for another
  // would drop a signal that arrived but was not yet dispatched: Node stops watching a signal
  // the moment its last listener goes.
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) started.lifecycle.signal(signal);
    else early ??= signal;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  main().then(
    (runtime) => {
      started = runtime;
      if (early) runtime.lifecycle.signal(early, undefined, 'shutting down (signalled during start-up)');
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${service}: ${err.message}\n`);
        process.exit(2);
      }
      createLogger({ service }).fatal({ err }, 'start-up failed');
      process.exit(1);
    },
  );
}
