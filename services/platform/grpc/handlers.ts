import type {
  Metadata,
  MethodDefinition,
  sendUnaryData,
  ServerUnaryCall,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Caller } from '../auth/caller.js';
import type { Logger } from '../logging.js';
import { SpanKind, withSpan } from '../trace.js';
import { grpcStatusOf, toGrpcError } from './errors.js';
import { callerOf } from './guard.js';

/** What a unary handler knows of its call besides the request. */
export interface CallContext {
  metadata: Metadata;
  /** Who is calling, verified by the server's guard (anonymous on a public method without a token). */
  caller: Caller;
  /** A logger whose lines carry the method and, when sent, the correlation id. */
  log: Logger;
  /** The call's deadline, when the client set one. */
  deadline: Date | undefined;
  /** True once the client has cancelled or the deadline passed. */
  readonly cancelled: boolean;
}

/** Async unary handlers for every method of a ts-proto grpc-js service definition. */
export type UnaryHandlers<D extends ServiceDefinition> = {
  [K in keyof D]: D[K] extends MethodDefinition<infer Req, infer Res> ? (request: Req, ctx: CallContext) => Promise<Res> : never;
};

/**
 * Adapts async handlers to grpc-js: a returned value is the response; a thrown error is mapped
 * through the one error table (`toGrpcError`), logged at warn for client errors and at error for
 * internal ones, and never leaks its stack to the client.
 */
export function implement<D extends ServiceDefinition>(
  definition: D,
  handlers: UnaryHandlers<D>,
  logger: Logger,
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = (handlers as Record<string, (req: unknown, ctx: CallContext) => Promise<unknown>>)[name];
    if (!handler) throw new Error(`no handler for ${method.path}`);
    if (method.requestStream || method.responseStream) throw new Error(`${method.path} is streaming; implement it directly`);
    implementation[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const correlationId = call.metadata.get('orderflow-correlation-id')[0];
      const log = logger.child({ rpc: method.path, ...(correlationId ? { correlationId: String(correlationId) } : {}) });
      const deadline = call.getDeadline();
      const ctx: CallContext = {
        metadata: call.metadata,
        caller: callerOf(call),
        log,
        deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
        get cancelled() {
          return call.cancelled;
        },
      };
      const traceparent = call.metadata.get('traceparent')[0];
      const tracestate = call.metadata.get('tracestate')[0];
      const [service = '', rpcMethod = ''] = method.path.split('/').slice(1);
      withSpan(
        method.path.slice(1),
        {
          kind: SpanKind.SERVER,
          parent: { traceparent: traceparent ? String(traceparent) : undefined, tracestate: tracestate ? String(tracestate) : undefined },
          attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': rpcMethod },
          ...(correlationId ? { correlationId: String(correlationId) } : {}),
        },
        async (span) => {
          try {
            return await handler(call.request, ctx);
          } catch (err) {
            span.setAttribute('rpc.grpc.status_code', grpcStatusOf(err));
            throw err;
          }
        },
      ).then(
        (response) => callback(null, response),
        (err: unknown) => {
          const grpcError = toGrpcError(err);
          if (grpcStatusOf(err) === 13) log.error({ err }, 'rpc failed');
          else log.warn({ code: grpcError.code, message: grpcError.message }, 'rpc rejected');
          callback(grpcError, null);
        },
      );
    };
  }
  return implementation;
}
