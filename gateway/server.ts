// The GraphQL gateway: one HTTP server that answers queries and mutations at POST /graphql (the
// federated supergraph on @apollo/server), subscriptions over graphql-ws on the same path, and
// the offline playground at /. Until the subgraphs have composed, /graphql answers
// SERVICE_UNAVAILABLE and /healthz answers 503. Every error, HTTP or GraphQL, is GraphQL-shaped
// JSON without stack traces (http-errors.ts); what operations must pass is in admission.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type { JetStreamClient } from '@nats-io/jetstream';
import express, { type RequestHandler } from 'express';
import { print, subscribe } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import {
  anonymous,
  authorizationPlugin,
  checkOperation,
  formatGraphQLError,
  withTrace,
  type Authenticator,
  type Caller,
  type CallerContext,
  type Logger,
} from '../services/platform/index.js';
import { admissionPlugin, admitSocketOperation, originAllowlist, verifyOrigin } from './admission.js';
import { jsonErrors, notFound } from './http-errors.js';
import { operationLimitsRule, type OperationLimits } from './limits.js';
import { requestLog } from './request-log.js';
import { countedSubscription, operationMetrics } from './metrics.js';
import { playgroundRouter } from './playground.js';
import { createSupergraph, type SubgraphEndpoint } from './supergraph.js';
import {
  formatErrors,
  formatResult,
  resolveField,
  subscribeField,
  subscriptionTypeDefs,
  type RunOperation,
  type SubscriptionContext,
} from './subscriptions.js';

export interface GatewayOptions {
  subgraphs: SubgraphEndpoint[];
  js: JetStreamClient;
  logger: Logger;
  /** Verifies callers' bearer tokens (HTTP `Authorization`, graphql-ws `connection_init`). */
  auth: Authenticator;
  port: number;
  host?: string;
  limits: OperationLimits;
  /** Most lexical tokens a document may have; parsing stops beyond it (HTTP and WebSocket). */
  maxTokens: number;
  /** Most operations one WebSocket may have open at once; default 20. */
  maxSubscriptionsPerSocket?: number;
  /** Browser origins allowed to open a WebSocket besides the gateway's own; default none. */
  allowedOrigins?: readonly string[];
  pollIntervalMs?: number;
  retryMs?: number;
  /** How long one composition attempt may take before it is given up and tried again; default 15 s. */
  attemptTimeoutMs?: number;
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
  /** What /healthz withholds: the subgraphs and their URLs. For admins only (see healthDetails). */
  healthDetails(): GatewayHealthDetails;
  close(): Promise<void>;
}

/** The gateway's health with its internals, for an operator. */
export interface GatewayHealthDetails {
  status: 'SERVING' | 'WAITING_FOR_SUBGRAPHS';
  subgraphs: SubgraphEndpoint[];
}

const graphqlPath = '/graphql';

/** The `Authorization` value a graphql-ws client sent in `connection_init`: `{ authorization }` or `{ token }`. */
export function socketAuthorization(params: Record<string, unknown> | undefined): string | undefined {
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof authorization === 'string' && authorization !== '') return authorization;
  if (typeof params?.token === 'string' && params.token !== '') return `Bearer ${params.token}`;
  return undefined;
}

const unauthenticated = (res: Parameters<RequestHandler>[1], err: unknown) =>
  res.status(401).json({
    errors: [{ message: err instanceof Error ? err.message : 'the bearer token is not valid', extensions: { code: 'UNAUTHENTICATED' } }],
  });
/** The largest request body (HTTP) or message (WebSocket) a client may send. */
const maxMessageBytes = 256 * 1024;

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger } = options;
  const app = express();
  app.disable('x-powered-by');
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
    attemptTimeoutMs: options.attemptTimeoutMs ?? 15_000,
    subscriptionsUrl: wsUrl,
    logger,
  });
  const limitsRule = operationLimitsRule(options.limits);
  const formatError = formatGraphQLError(logger);
  const apollo = new ApolloServer<CallerContext>({
    gateway: supergraph,
    includeStacktraceInErrorResponses: false,
    // The process's Lifecycle handles SIGTERM; Apollo's own handler would stop early and re-raise it.
    stopOnTerminationSignals: false,
    formatError,
    validationRules: [limitsRule],
    parseOptions: { maxTokens: options.maxTokens },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: http }),
      ApolloServerPluginLandingPageDisabled(),
      admissionPlugin(options.limits),
      authorizationPlugin<CallerContext>(),
      requestLog(logger),
      operationMetrics(),
    ],
  });

  // A subscription's payload queries each start a trace of their own, and run as the subscriber.
  const runAs = (caller: CallerContext): RunOperation => async ({ query, variables }) => {
    const response = await withTrace({}, () => apollo.executeOperation({ query, variables }, { contextValue: caller }));
    if (response.body.kind !== 'single') throw new Error('incremental delivery is not supported');
    return response.body.singleResult;
  };

  let graphql: RequestHandler = (_req, res) => {
    res.status(503).json({
      errors: [{ message: 'The supergraph is not composed yet: waiting for the subgraphs', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    });
  };
  // The subgraphs' URLs are internal: /healthz tells anyone whether the gateway serves, and an
  // admin (Authorization: Bearer <admin token>) the details too.
  const healthDetails = (): GatewayHealthDetails => ({
    status: supergraph.schema() !== undefined ? 'SERVING' : 'WAITING_FOR_SUBGRAPHS',
    subgraphs: options.subgraphs,
  });
  app.get('/healthz', async (req, res) => {
    let caller: Caller;
    try {
      caller = await options.auth.authenticate(req.header('authorization'));
    } catch (err) {
      unauthenticated(res, err);
      return;
    }
    const details = healthDetails();
    res.status(details.status === 'SERVING' ? 200 : 503).json(caller.kind === 'admin' ? details : { status: details.status });
  });
  app.use(playgroundRouter({ graphqlPath }));
  // An operation continues the caller's trace (its `traceparent` header) or starts one; the
  // subgraph fetches, gRPC calls and the events they append carry it on.
  // The caller's token is verified before anything else: a bad one is a 401, none is anonymous.
  const callers = new WeakMap<object, CallerContext>();
  app.use(graphqlPath, express.json({ limit: maxMessageBytes }), async (req, res, next) => {
    const authorization = req.header('authorization');
    try {
      callers.set(req, { caller: await options.auth.authenticate(authorization), authorization });
    } catch (err) {
      unauthenticated(res, err);
      return;
    }
    return withTrace({ traceparent: req.header('traceparent') }, () => graphql(req, res, next));
  });
  app.use(notFound);
  app.use(jsonErrors(logger));

  const admission = {
    limits: options.limits,
    maxTokens: options.maxTokens,
    maxOperationsPerSocket: options.maxSubscriptionsPerSocket ?? 20,
  };
  const ws = new WebSocketServer({
    server: http,
    path: graphqlPath,
    maxPayload: maxMessageBytes,
    verifyClient: verifyOrigin(originAllowlist(port, options.allowedOrigins ?? [])),
  });
  const callerOf = ({ caller, authorization }: CallerContext): CallerContext => ({ caller, authorization });
  // A socket's caller, verified once from its connection_init payload.
  const socketCallers = new WeakMap<object, CallerContext>();
  const socketCaller = (extra: { socket: object }): CallerContext => socketCallers.get(extra.socket) ?? { caller: anonymous };
  const wsServer = useServer<Record<string, unknown>, { socket: object }>(
    {
      onConnect: async (ctx) => {
        const authorization = socketAuthorization(ctx.connectionParams);
        try {
          socketCallers.set(ctx.extra.socket, { caller: await options.auth.authenticate(authorization), authorization });
          return true;
        } catch (err) {
          logger.warn({ reason: err instanceof Error ? err.message : String(err) }, 'WebSocket refused: bad token');
          (ctx.extra.socket as { close(code: number, reason: string): void }).close(4401, 'Unauthorized: the bearer token is not valid');
          return false;
        }
      },
      context: (ctx): SubscriptionContext => {
        const caller = socketCaller(ctx.extra);
        return { js: options.js, run: runAs(caller), ...caller };
      },
      // Queries and mutations sent over the socket run through the supergraph like HTTP ones.
      execute: async (args) => {
        const response = await withTrace({}, () =>
          apollo.executeOperation(
            {
              query: print(args.document),
              variables: (args.variableValues ?? {}) as Record<string, unknown>,
              ...(args.operationName ? { operationName: args.operationName } : {}),
            },
            { contextValue: callerOf(args.contextValue as unknown as SubscriptionContext) },
          ),
        );
        if (response.body.kind !== 'single') throw new Error('incremental delivery is not supported');
        return response.body.singleResult as never;
      },
      subscribe: async (args) => {
        const result = await subscribe({ ...args, subscribeFieldResolver: subscribeField, fieldResolver: resolveField(print) });
        return Symbol.asyncIterator in result ? countedSubscription(result) : result;
      },
      // Parsed, validated and costed as HTTP operations are, before anything runs.
      onSubscribe: (ctx, id, payload) => {
        const admitted = admitSocketOperation(admission, supergraph.schema(), payload, Object.keys(ctx.subscriptions).length);
        if ('errors' in admitted) return admitted.errors;
        const { operation, ...args } = admitted.args;
        const refused = checkOperation(operation, (payload.variables ?? {}) as Record<string, unknown>, socketCaller(ctx.extra).caller);
        if (refused) return [refused];
        logger.info({ subscription: id, operation: payload.operationName ?? '(anonymous)', type: operation.operation, variables: payload.variables }, 'WebSocket operation started');
        return args;
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result as never, formatError),
      onComplete: (_ctx, id) => {
        logger.info({ subscription: id }, 'WebSocket operation ended');
      },
      onError: (_ctx, id, _payload, errors) => {
        logger.warn({ subscription: id, errors: errors.map((e) => e.message) }, 'subscription failed');
        return formatErrors(errors, formatError);
      },
    },
    ws,
  );

  const started = apollo.start().then(() => {
    graphql = expressMiddleware(apollo, { context: async ({ req }) => callers.get(req) ?? { caller: anonymous } });
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
    healthDetails,
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
