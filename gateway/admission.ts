// What an operation must pass before the gateway calls any subgraph, over HTTP and over the
// WebSocket alike: the token limit while parsing, the spec rules with the depth and field limits
// while validating, exactly one operation to run, and the cost limit once the variables are known.
// A WebSocket also has a cap on the operations it holds open and an Origin allowlist at upgrade.
import type { ApolloServerPlugin } from '@apollo/server';
import type { IncomingMessage } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { costLimitError, operationLimitsRule, type OperationLimits } from './limits.js';

/** A document with several operations and no operationName, or an operationName it lacks. */
function operationNotFound(document: DocumentNode, operationName: string | null | undefined): GraphQLError {
  const message = operationName
    ? `the document has no operation named ${JSON.stringify(operationName)}`
    : 'the document has several operations: name the one to run in operationName';
  const count = document.definitions.filter((d) => d.kind === 'OperationDefinition').length;
  return new GraphQLError(count === 0 && !operationName ? 'the document has no operation to run' : message, {
    extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
  });
}

/**
 * The HTTP side, as an Apollo Server plugin: names the missing operation (Apollo Gateway would
 * answer 500) and applies the cost limit with the request's variables. Parsing (`maxTokens`) and
 * validation (`operationLimitsRule`) are Apollo Server's options.
 */
export function admissionPlugin(limits: Pick<OperationLimits, 'maxCost'>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation) throw operationNotFound(document, request.operationName);
          const refused = costLimitError(schema, document, operation, request.variables, limits.maxCost);
          if (refused) throw new GraphQLError(refused.message, { nodes: refused.nodes, extensions: { ...refused.extensions, http: { status: 400 } } });
        },
      };
    },
  };
}

/** What the WebSocket side of admission needs. */
export interface SocketAdmission {
  limits: OperationLimits;
  /** Most lexical tokens a document may have. */
  maxTokens: number;
  /** Most operations one socket may have open at once. */
  maxOperationsPerSocket: number;
}

/** What a graphql-ws `subscribe` message carries. */
export interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/**
 * Admits one graphql-ws operation: the execution arguments to run it with, or the errors refusing
 * it (sent to the client for that operation id; the socket stays open). `openOnSocket` counts the
 * socket's operations, this one included.
 */
export function admitSocketOperation(
  admission: SocketAdmission,
  schema: GraphQLSchema | undefined,
  payload: SubscribePayload,
  openOnSocket: number,
): { args: ExecutionArgs & { operation: OperationDefinitionNode } } | { errors: GraphQLError[] } {
  if (openOnSocket > admission.maxOperationsPerSocket) {
    const message = `this socket already has ${openOnSocket - 1} operations open; the limit is ${admission.maxOperationsPerSocket}: complete one first`;
    return { errors: [new GraphQLError(message, { extensions: { code: 'SUBSCRIPTION_LIMIT_EXCEEDED', limit: admission.maxOperationsPerSocket } })] };
  }
  if (!schema) {
    return { errors: [new GraphQLError('The supergraph is not composed yet: waiting for the subgraphs', { extensions: { code: 'SERVICE_UNAVAILABLE' } })] };
  }
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: admission.maxTokens });
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : 'the document cannot be parsed';
    return { errors: [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
  }
  const invalid = validate(schema, document, [...specifiedRules, operationLimitsRule(admission.limits)], { maxErrors: 20 });
  if (invalid.length > 0) {
    return { errors: invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...e.extensions } })) };
  }
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) return { errors: [withoutHttp(operationNotFound(document, payload.operationName))] };
  const variables = payload.variables ?? {};
  const refused = costLimitError(schema, document, operation, variables, admission.limits.maxCost);
  if (refused) return { errors: [refused] };
  return { args: { schema, document, operation, variableValues: variables, ...(payload.operationName ? { operationName: payload.operationName } : {}) } };
}

function withoutHttp(error: GraphQLError): GraphQLError {
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { extensions });
}

/**
 * The origins a browser may open the gateway's WebSocket from: the gateway's own (localhost,
 * 127.0.0.1 and [::1] on its port) and `extra`. A page elsewhere must not ride on a user's
 * session (cross-site WebSocket hijacking); clients that send no Origin are not browsers.
 */
export function originAllowlist(port: number, extra: readonly string[]): (origin: string | undefined) => boolean {
  const allowed = new Set(
    [...['localhost', '127.0.0.1', '[::1]'].flatMap((host) => [`http://${host}:${port}`, `https://${host}:${port}`]), ...extra].map((o) =>
      o.replace(/\/+$/, '').toLowerCase(),
    ),
  );
  return (origin) => origin === undefined || allowed.has(origin.toLowerCase());
}

/** `verifyClient` for `ws`: refuses an upgrade from a foreign Origin with 403. */
export function verifyOrigin(allowed: (origin: string | undefined) => boolean) {
  return (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void): void => {
    const origin = info.req.headers.origin;
    if (allowed(origin)) done(true);
    else done(false, 403, 'Forbidden: this Origin may not open the gateway WebSocket');
  };
}
