// The GraphQL gateway: one HTTP server that answers queries and mutations at POST /graphql (the
// federated supergraph on @apollo/server), subscriptions over graphql-ws on the same path, and
// the offline playground at /. Until the subgraphs have composed, /graphql answers
// SERVICE_UNAVAILABLE and /healthz says what is missing.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type { JetStreamClient } from '@nats-io/jetstream';
import express, { type RequestHandler } from 'express';
import { print, specifiedRules, subscribe, validate, type DocumentNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { formatGraphQLError, withTrace, type Logger } from '../services/platform/index.js';
import { operationLimitsRule, type OperationLimits } from './limits.js';
import { requestLog } from './request-log.js';
import { countedSubscription, operationMetrics } from './metrics.js';
import { playgroundRouter } from './playground.js';
import { createSupergraph, type SubgraphEndpoint } from './supergraph.js';
import { resolveField, subscribeField, subscriptionTypeDefs, type RunOperation, type SubscriptionContext } from './subscriptions.js';

export interface GatewayOptions {
  subgraphs: SubgraphEndpoint[];
  js: JetStreamClient;
  logger: Logger;
  port: number;
  host?: string;
  limits: OperationLimits;
  /** Most lexical tokens a document may have; parsing stops beyond it. */
  maxTokens: number;
  pollIntervalMs?: number;
  retryMs?: number;
}

export interface RunningGateway {
  /** `http://127.0.0.1:<port>/graphql` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/graphql` */
  readonly wsUrl: string;
  /** The playground: `http://127.0.0.1:<port>/` */
  readonly playgroundUrl: string;
  readonly port: number;
  /** Resolves when the supergraph is composed and queries are served. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const graphqlPath = '/graphql';

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options;
  const app = express();
  const http = createServer(app);
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    http.once('error', (err) => reject(new Error(`cannot serve the gateway on ${host}:${options.port}: ${err.message}`)));
    http.listen(options.port, host, resolve);
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}${graphqlPath}`;
  const wsUrl = `ws://127.0.0.1:${port}${graphqlPath}`;

  const supergraph = createSupergraph({
    subgraphs: options.subgraphs,
    extension: subscriptionTypeDefs,
    pollIntervalMs: options.pollIntervalMs ?? 10_000,
    retryMs: options.retryMs ?? 1_000,
    subscriptionsUrl: wsUrl,
    logger,
  });
  const limitsRule = operationLimitsRule(options.limits);
  const apollo = new ApolloServer({
    gateway: supergraph,
    includeStacktraceInErrorResponses: false,
    // The process's Lifecycle handles SIGTERM; Apollo's own handler would stop early and re-raise it.
    stopOnTerminationSignals: false,
    formatError: formatGraphQLError(logger),
    validationRules: [limitsRule],
    parseOptions: { maxTokens: options.maxTokens },
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: http }), ApolloServerPluginLandingPageDisabled(), requestLog(logger), operationMetrics()],
  });

  // A subscription's payload queries each start a trace of their own.
  const run: RunOperation = async ({ query, variables }) => {
    const response = await withTrace({}, () => apollo.executeOperation({ query, variables }));
    if (response.body.kind !== 'single') throw new Error('incremental delivery is not supported');
    return response.body.singleResult;
  };

  let graphql: RequestHandler = (_req, res) => {
    res.status(503).json({
      errors: [{ message: 'The supergraph is not composed yet: waiting for the subgraphs', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    });
  };
  app.get('/healthz', (_req, res) => {
    const composed = supergraph.schema() !== undefined;
    res.status(composed ? 200 : 503).json({ status: composed ? 'SERVING' : 'WAITING_FOR_SUBGRAPHS', subgraphs: options.subgraphs });
  });
  app.use(playgroundRouter({ graphqlPath }));
  // An operation continues the caller's trace (its `traceparent` header) or starts one; the
  // subgraph fetches, gRPC calls and the events they append carry it on.
  app.use(graphqlPath, express.json({ limit: '256kb' }), (req, res, next) =>
    withTrace({ traceparent: req.header('traceparent') }, () => graphql(req, res, next)),
  );

  const ws = new WebSocketServer({ server: http, path: graphqlPath });
  const wsServer = useServer<Record<string, unknown>, SubscriptionContext>(
    {
      schema: () => {
        const schema = supergraph.schema();
        if (!schema) throw new Error('The supergraph is not composed yet: waiting for the subgraphs');
        return schema;
      },
      context: (): SubscriptionContext => ({ js: options.js, run }),
      validate: (schema, document: DocumentNode) => validate(schema, document, [...specifiedRules, limitsRule], { maxErrors: 20 }),
      // Queries and mutations sent over the socket run through the supergraph like HTTP ones.
      execute: async (args) => {
        const result = await run({ query: print(args.document), variables: (args.variableValues ?? {}) as Record<string, unknown> });
        return result as never;
      },
      subscribe: async (args) => {
        const result = await subscribe({ ...args, subscribeFieldResolver: subscribeField, fieldResolver: resolveField(print) });
        return Symbol.asyncIterator in result ? countedSubscription(result) : result;
      },
      onSubscribe: (_ctx, id, payload) => {
        logger.info({ subscription: id, operation: payload.operationName ?? '(anonymous)', variables: payload.variables }, 'WebSocket operation started');
      },
      onComplete: (_ctx, id) => {
        logger.info({ subscription: id }, 'WebSocket operation ended');
      },
      onError: (_ctx, id, _payload, errors) => {
        logger.warn({ subscription: id, errors: errors.map((e) => e.message) }, 'subscription failed');
      },
    },
    ws,
  );

  const started = apollo.start().then(() => {
    graphql = expressMiddleware(apollo, { context: async () => ({}) });
    logger.info({ url, playground: `http://127.0.0.1:${port}/` }, 'gateway serving the supergraph');
  });
  started.catch((err: unknown) => logger.error({ err }, 'gateway failed to start'));
  logger.info({ port, subgraphs: options.subgraphs.map((s) => `${s.name}=${s.url}`) }, 'gateway listening');

  return {
    url,
    wsUrl,
    playgroundUrl: `http://127.0.0.1:${port}/`,
    port,
    ready: () => started,
    async close() {
      await wsServer.dispose();
      ws.close();
      await supergraph.stop();
      // apollo.stop() drains the HTTP server; before start it would throw, so close it directly.
      await apollo.stop().catch(async () => {
        await new Promise<void>((resolve) => http.close(() => resolve()));
      });
      logger.info({ port }, 'gateway stopped');
    },
  };
}
