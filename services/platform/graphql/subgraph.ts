// Serves one service's Apollo Federation 2 subgraph over HTTP. The gateway composes the
// subgraphs; clients never call them directly. Resolvers reach the service through its gRPC API
// (typed clients, batched per request with DataLoader), so GraphQL and gRPC callers get the same
// validation, errors and logs. Nothing is trusted for coming from the gateway: the caller's bearer
// token is verified here, the operation checked against the access table, and the token sent on
// with every gRPC call the resolvers make, whose server verifies it again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError, GraphQLScalarType, parse, type GraphQLFormattedError } from 'graphql';
import type { Authenticator } from '../auth/authenticator.js';
import { actingFor } from '../auth/forwarding.js';
import { authorizationPlugin, type CallerContext } from '../auth/graphql.js';
import type { Caller } from '../auth/caller.js';
import type { Logger } from '../logging.js';
import { SpanKind, withSpan } from '../trace.js';
import { sharedResolvers, sharedTypeDefs } from './scalars.js';

const federationLink =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires"])';

/** What a service contributes to the supergraph. */
export interface SubgraphDefinition<C extends BaseContext = BaseContext> {
  /** SDL of the service's types; the federation link and the shared types are added. */
  typeDefs: string;
  resolvers: GraphQLResolverMap<C>;
  /** A fresh context per request: its DataLoaders, so batching and caching never cross requests. */
  context(): C;
  /** Releases the subgraph's gRPC clients. */
  close?(): void;
}

export interface SubgraphServer {
  /** `http://127.0.0.1:<port>/graphql`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Keeps the codes resolvers chose (see `viaGrpc`) and GraphQL's own validation errors; anything
 * else is an internal failure: logged here, answered as INTERNAL_SERVER_ERROR without its message.
 * Stack traces are never sent.
 */
export function formatGraphQLError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const known = original instanceof GraphQLError && original.extensions.code !== undefined;
    const code = formatted.extensions?.code;
    if (known || (code !== undefined && code !== 'INTERNAL_SERVER_ERROR')) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    // Apollo refuses a malformed request (a bad extensions.persistedQuery, say) with a plain
    // GraphQLError and an HTTP 4xx but no code: the caller's mistake, not an internal failure.
    const httpStatus = (error as { extensions?: { http?: { status?: number } } } | undefined)?.extensions?.http?.status;
    if (httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500) {
      return { message: formatted.message, extensions: { code: 'BAD_USER_INPUT' } };
    }
    logger.error({ err: original, path: formatted.path }, 'GraphQL resolver failed');
    return { message: 'Internal error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/** The shared resolvers with the service's, type by type (a service may add fields to Money, say). */
function mergeResolvers(...maps: GraphQLResolverMap<unknown>[]): GraphQLResolverMap<unknown> {
  const merged: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [type, value] of Object.entries(map)) {
      const previous = merged[type];
      merged[type] = previous && typeof previous === 'object' && !(value instanceof GraphQLScalarType) ? { ...previous, ...value } : value;
    }
  }
  return merged as GraphQLResolverMap<unknown>;
}

/** Starts the subgraph's HTTP server on `port` (0 picks a free one) at `/graphql`. */
export async function startSubgraphServer<C extends BaseContext>(options: {
  service: string;
  subgraph: SubgraphDefinition<C>;
  logger: Logger;
  /** Verifies the forwarded `Authorization` header. */
  auth: Authenticator;
  port: number;
  /** Bind address; default 127.0.0.1 (loopback). */
  host?: string;
}): Promise<SubgraphServer> {
  const { subgraph, logger } = options;
  const schema = buildSubgraphSchema({
    typeDefs: parse(`${federationLink}\n${sharedTypeDefs}\n${subgraph.typeDefs}`),
    resolvers: mergeResolvers(sharedResolvers as GraphQLResolverMap<unknown>, subgraph.resolvers as GraphQLResolverMap<unknown>),
  });
  const app = express();
  const http: Server = createServer(app);
  // The gateway keeps connections to subgraphs open between requests. Node closes an idle one
  // after 5 s by default, and a request the gateway sends on it at that moment fails with
  // "socket hang up"; keep idle connections longer than the gateway's client does.
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const apollo = new ApolloServer<C & CallerContext>({
    schema,
    includeStacktraceInErrorResponses: false,
    // The process's Lifecycle handles SIGTERM; Apollo's own handler would stop early and re-raise it.
    stopOnTerminationSignals: false,
    formatError: formatGraphQLError(logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: http }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      authorizationPlugin<C & CallerContext>(),
    ],
  });
  await apollo.start();
  const callers = new WeakMap<object, { caller: Caller; authorization: string | undefined }>();
  const middleware = expressMiddleware(apollo, {
    context: async ({ req }) => ({ ...subgraph.context(), ...callers.get(req)! }),
  });
  // One server span per operation, child of the gateway's fetch; the resolvers' gRPC calls carry it on.
  app.use('/graphql', express.json({ limit: '1mb' }), async (req, res, next) => {
    const authorization = req.header('authorization');
    try {
      callers.set(req, { caller: await options.auth.authenticate(authorization), authorization });
    } catch (err) {
      res.status(401).json({ errors: [{ message: err instanceof Error ? err.message : 'the bearer token is not valid', extensions: { code: 'UNAUTHENTICATED' } }] });
      return;
    }
    const body = req.body as { operationName?: unknown } | undefined;
    const operation = typeof body?.operationName === 'string' ? body.operationName : '(anonymous)';
    void withSpan(
      `graphql ${options.service} ${operation}`,
      {
        kind: SpanKind.SERVER,
        parent: { traceparent: req.header('traceparent'), tracestate: req.header('tracestate') },
        attributes: { 'graphql.operation.name': operation, 'orderflow.subgraph': options.service },
      },
      () =>
        new Promise<void>((resolve) => {
          res.once('finish', resolve);
          res.once('close', resolve);
          // The resolvers' gRPC calls are made as this caller (auth/forwarding.ts).
          actingFor(authorization, () => void middleware(req, res, next));
        }),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    http.once('error', (err) => reject(new Error(`cannot serve the ${options.service} subgraph on ${host}:${options.port}: ${err.message}`)));
    http.listen(options.port, host, resolve);
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/graphql`;
  logger.info({ port, url }, 'GraphQL subgraph listening');
  return {
    url,
    port,
    async close() {
      await apollo.stop();
      subgraph.close?.();
      logger.info({ port }, 'GraphQL subgraph stopped');
    },
  };
}
