// The supergraph: composed at run time from the subgraphs' own schemas (IntrospectAndCompose),
// extended with the gateway's Subscription type. Composition waits for subgraphs that start late:
// until every one answers, `load` keeps retrying and the gateway answers SERVICE_UNAVAILABLE.
// Afterwards the subgraphs are polled, so a redeployed subgraph's schema is picked up and a
// subgraph that goes away leaves the last good supergraph in place.
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import type {
  GatewayExecutor,
  GatewayInterface,
  GatewayLoadResult,
  GatewaySchemaLoadOrUpdateCallback,
} from '@apollo/server-gateway-interface';
import { execute as executeLocally, extendSchema, GraphQLError, Kind, parse, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { traceHeaders, type CallerContext, type Logger } from '../services/platform/index.js';

export interface SubgraphEndpoint {
  name: string;
  url: string;
}

export interface SupergraphOptions {
  subgraphs: SubgraphEndpoint[];
  /** SDL added to the composed API schema: the Subscription type the gateway serves itself. */
  extension: DocumentNode;
  /** How often running subgraphs are introspected again. */
  pollIntervalMs: number;
  /** Pause between composition attempts while a subgraph is not up yet. */
  retryMs: number;
  /**
   * How long one composition attempt may take. A subgraph that accepts the connection and never
   * answers would otherwise hold the first attempt, and the gateway, unready for good.
   */
  attemptTimeoutMs: number;
  /** Where subscriptions are served, for the error an HTTP subscription gets. */
  subscriptionsUrl: string;
  logger: Logger;
}

/** A GatewayInterface for @apollo/server around ApolloGateway; `schema()` is the latest API schema. */
export interface Supergraph extends GatewayInterface {
  /** The API schema with the Subscription type; undefined until composed. */
  schema(): GraphQLSchema | undefined;
  /** Resolves once the first composition succeeded. */
  ready(): Promise<void>;
}

export function createSupergraph(options: SupergraphOptions): Supergraph {
  const { logger } = options;
  const listeners = new Set<GatewaySchemaLoadOrUpdateCallback>();
  let gateway: ApolloGateway | undefined;
  let current: GraphQLSchema | undefined;
  let stopped = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  /** The extension needs the types it refers to (Order, OrderStatus); without them, none. */
  const extend = (apiSchema: GraphQLSchema) => {
    try {
      return extendSchema(apiSchema, options.extension);
    } catch (err) {
      logger.warn({ reason: err instanceof Error ? err.message : String(err) }, 'supergraph served without subscriptions');
      return apiSchema;
    }
  };

  const subscriptionOverHttp: GatewayExecutor = async () => ({
    errors: [
      new GraphQLError(`Subscriptions are served over WebSocket (graphql-ws) at ${options.subscriptionsUrl}`, {
        extensions: { code: 'BAD_REQUEST' },
      }),
    ],
  });

  async function compose(): Promise<{ gateway: ApolloGateway; result: GatewayLoadResult }> {
    for (let attempt = 1; ; attempt++) {
      // An attempt given up on may still finish later; its schema must not be served.
      let abandoned = false;
      const candidate = new ApolloGateway({
        supergraphSdl: new IntrospectAndCompose({ subgraphs: options.subgraphs, pollIntervalInMs: options.pollIntervalMs }),
        // Each subgraph fetch continues the operation's trace (W3C traceparent of the active span)
        // and carries the caller's own token: the subgraph verifies it again and sends it on to gRPC.
        buildService: ({ url }) =>
          new RemoteGraphQLDataSource({
            ...(url ? { url } : {}),
            willSendRequest({ request, context }) {
              for (const [key, value] of Object.entries(traceHeaders())) request.http?.headers.set(key, value);
              const authorization = (context as Partial<CallerContext> | undefined)?.authorization;
              if (authorization) request.http?.headers.set('authorization', authorization);
            },
          }),
        logger: { debug: () => {}, info: (m) => logger.debug(String(m)), warn: (m) => logger.warn(String(m)), error: (m) => logger.error(String(m)) },
      });
      candidate.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
        if (abandoned) return;
        // Two copies: Apollo Server wraps every resolver of the schema it is given (for its
        // plugins), which would hide the subscriptions' own field resolver; the WebSocket side
        // executes on an untouched copy.
        current = extend(apiSchema);
        for (const listener of listeners) listener({ apiSchema: extend(apiSchema), coreSupergraphSdl });
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the subgraphs did not all answer within ${options.attemptTimeoutMs} ms`)), options.attemptTimeoutMs);
      });
      const loading = candidate.load();
      // Stopping a gateway that is still loading does nothing; one that loads after being given up
      // on is stopped then, so it does not poll the subgraphs on its own.
      loading.then(
        () => (abandoned ? candidate.stop().catch(() => {}) : undefined),
        () => {},
      );
      try {
        const result = await Promise.race([loading, deadline]).finally(() => clearTimeout(timer));
        logger.info({ subgraphs: options.subgraphs.map((s) => s.name), attempt }, 'supergraph composed');
        return { gateway: candidate, result };
      } catch (err) {
        abandoned = true;
        await candidate.stop().catch(() => {});
        if (stopped) throw new Error('gateway stopped before the supergraph was composed');
        const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
        // Every few attempts at info, so a person watching sees what the gateway waits for.
        const log = attempt === 1 || attempt % 10 === 0 ? logger.info.bind(logger) : logger.debug.bind(logger);
        log({ attempt, reason }, 'waiting for the subgraphs to compose the supergraph');
        await new Promise((resolve) => setTimeout(resolve, options.retryMs));
      }
    }
  }

  return {
    schema: () => current,
    ready: () => ready,
    onSchemaLoadOrUpdate(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    async load() {
      const composed = await compose();
      gateway = composed.gateway;
      const execute = composed.result.executor;
      if (!execute) throw new Error('the composed gateway has no executor');
      markReady();
      return {
        executor: (requestContext) => {
          if (requestContext.operation.operation === 'subscription') return subscriptionOverHttp(requestContext);
          // ApolloGateway answers introspection from its own schema, which has no Subscription
          // type; the schema Apollo Server holds is the extended one, so playgrounds see it.
          if (isIntrospectionOnly(requestContext.operation)) {
            return Promise.resolve(
              executeLocally({
                schema: requestContext.schema,
                document: requestContext.document,
                ...(requestContext.operationName ? { operationName: requestContext.operationName } : {}),
                variableValues: requestContext.request.variables ?? {},
              }),
            ) as ReturnType<GatewayExecutor>;
          }
          return execute(requestContext);
        },
      };
    },
    async stop() {
      stopped = true;
      await gateway?.stop();
    },
  };
}

/** Whether every top-level field is `__schema`, `__type` or `__typename`. */
function isIntrospectionOnly(operation: OperationDefinitionNode): boolean {
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
}

export const parseExtension = (sdl: string): DocumentNode => parse(sdl);
