// The gateway edge of the error table: a gRPC status becomes a GraphQL error whose
// `extensions.code` a client can switch on. Messages are the service's own (they name the
// problem); stack traces never leave the process.
import { status, type ServiceError } from '@grpc/grpc-js';
import { GraphQLError } from 'graphql';
import { isServiceError, readGrpcFailure } from '../grpc/errors.js';

/** GraphQL `extensions.code` by gRPC status. Codes Apollo defines keep Apollo's names. */
const codeByStatus: Partial<Record<status, string>> = {
  [status.INVALID_ARGUMENT]: 'BAD_USER_INPUT',
  [status.NOT_FOUND]: 'NOT_FOUND',
  [status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [status.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [status.ABORTED]: 'CONFLICT',
  [status.OUT_OF_RANGE]: 'BAD_USER_INPUT',
  [status.PERMISSION_DENIED]: 'FORBIDDEN',
  [status.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [status.RESOURCE_EXHAUSTED]: 'RESOURCE_EXHAUSTED',
  [status.UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
  [status.DEADLINE_EXCEEDED]: 'SERVICE_UNAVAILABLE',
};

/** One invalid input field, as GraphQL clients see it. */
export interface GraphQLFieldViolation {
  /** Dotted path from the argument, e.g. `input.items[0].quantity`. */
  field: string;
  /** The same path as segments, e.g. `['input', 'items', 0, 'quantity']`. */
  path: (string | number)[];
  message: string;
}

const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** How a request's proto fields are named in GraphQL. */
export interface FieldNaming {
  /** The GraphQL argument the request was built from (`input`); absent when fields are arguments. */
  argument?: string;
  /** GraphQL names of top-level proto fields that differ from their camelCase, e.g. `{ page_size: 'first' }`. */
  rename?: Record<string, string>;
}

/** `shipping_address.line1` or `items[0].product_id` → GraphQL path segments. */
export function fieldPath(protoField: string, naming: FieldNaming = {}): (string | number)[] {
  const path: (string | number)[] = naming.argument ? [naming.argument] : [];
  const [head, ...rest] = protoField.split('.');
  const first = head && naming.rename?.[head.replace(/\[.*$/, '')];
  const parts = first ? [first + (head!.match(/(\[\d+\])+$/)?.[0] ?? ''), ...rest] : [head ?? '', ...rest];
  for (const part of parts) {
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!match) {
      path.push(camel(part));
      continue;
    }
    if (match[1]) path.push(camel(match[1]));
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(index[1]));
  }
  return path;
}

const dotted = (path: (string | number)[]) =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

/**
 * A GraphQL error for a failed gRPC call. `naming` says how the request's fields are named in
 * GraphQL, so field violations point into what the client sent.
 */
export function graphqlErrorFromGrpc(err: ServiceError, naming: FieldNaming = {}): GraphQLError {
  const failure = readGrpcFailure(err);
  const code = codeByStatus[failure.code];
  if (!code) return new GraphQLError('Internal error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  const extensions: Record<string, unknown> = { code };
  if (failure.reason && failure.reason !== code) extensions.reason = failure.reason;
  if (failure.fieldViolations.length === 0) return new GraphQLError(renamedMessage(failure.message, naming), { extensions });
  const violations = failure.fieldViolations.map((v): GraphQLFieldViolation => {
    const path = fieldPath(v.field, naming);
    return { field: dotted(path), path, message: v.description };
  });
  extensions.fieldViolations = violations;
  // The service's message names proto fields; the caller sent GraphQL ones.
  return new GraphQLError(`invalid request: ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}`, { extensions });
}

/**
 * A message with the proto field names `naming` knows (its `rename` keys) in GraphQL terms, e.g.
 * `idempotency_key` → `input.idempotencyKey`. Only known names: a message also carries ids.
 */
function renamedMessage(message: string, naming: FieldNaming): string {
  let renamed = message;
  for (const protoField of Object.keys(naming.rename ?? {})) {
    renamed = renamed.replace(new RegExp(`(?<![\\w"])${protoField}(?![\\w"])`, 'g'), dotted(fieldPath(protoField, naming)));
  }
  return renamed;
}

/** Awaits a gRPC call, turning its failure into the GraphQL error the client should see. */
export async function viaGrpc<T>(call: Promise<T>, naming: FieldNaming = {}): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (isServiceError(err)) throw graphqlErrorFromGrpc(err, naming);
    throw err;
  }
}
