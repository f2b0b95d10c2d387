import { outgoingAuthorization } from '../auth/forwarding.js';
import { SpanKind, traceHeaders, withSpan } from '../trace.js';
import {
  Channel,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type CallOptions,
  type Client,
  type MethodDefinition,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';

/** Per-call options of a typed client. */
export interface CallSettings {
  /** Milliseconds until the call fails with DEADLINE_EXCEEDED; default: the client's deadline. */
  deadlineMs?: number;
  /** Sent as `orderflow-correlation-id` so the server's log lines carry it. */
  correlationId?: string;
  metadata?: Metadata;
}

/** Promise-returning unary methods of a ts-proto grpc-js service definition. */
export type GrpcClient<D extends ServiceDefinition> = {
  [K in keyof D]: D[K] extends MethodDefinition<infer Req, infer Res> ? (request: Req, settings?: CallSettings) => Promise<Res> : never;
} & { close(): void };

export interface GrpcClientOptions {
  /** Default deadline of every call, in milliseconds; default 5000. */
  deadlineMs?: number;
  /**
   * This client's own `Authorization` value (`Bearer <token>`), sent when the call is not made for
   * a GraphQL request's caller (whose header is sent instead, see auth/forwarding.ts). Default none.
   */
  authorization?: string | undefined;
}

// One channel per target, shared by every client of that target in this process: one HTTP/2
// connection, multiplexed, instead of a connection per client or per call.
const channels = new Map<string, { channel: Channel; users: number }>();

function acquireChannel(target: string): Channel {
  let entry = channels.get(target);
  if (!entry) {
    entry = {
      channel: new Channel(target, credentials.createInsecure(), {
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
      }),
      users: 0,
    };
    channels.set(target, entry);
  }
  entry.users += 1;
  return entry.channel;
}

function releaseChannel(target: string): void {
  const entry = channels.get(target);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users === 0) {
    entry.channel.close();
    channels.delete(target);
  }
}

/**
 * A typed, promise-based client for one service at `target` (`host:port`). Every call has a
 * deadline; the channel to `target` is shared with other clients in the process.
 */
export function grpcClient<D extends ServiceDefinition>(
  definition: D,
  target: string,
  options: GrpcClientOptions = {},
): GrpcClient<D> {
  const defaultDeadline = options.deadlineMs ?? 5000;
  const Ctor = makeGenericClientConstructor(definition, 'orderflow');
  const client: Client = new Ctor(target, credentials.createInsecure(), { channelOverride: acquireChannel(target) });
  const methods: Record<string, unknown> = {};
  for (const name of Object.keys(definition)) {
    const invoke = (client as unknown as Record<string, Function>)[name]!.bind(client);
    const path = (definition[name] as MethodDefinition<unknown, unknown>).path;
    const [service = '', method = ''] = path.split('/').slice(1);
    // A client span per call; the server's span continues it through the `traceparent` metadata.
    methods[name] = (request: unknown, settings: CallSettings = {}) =>
      withSpan(path.slice(1), { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } }, (span) =>
        new Promise((resolve, reject) => {
          const metadata = settings.metadata?.clone() ?? new Metadata();
          if (!metadata.get('authorization').length) {
            const authorization = outgoingAuthorization(options.authorization);
            if (authorization) metadata.set('authorization', authorization);
          }
          if (settings.correlationId) metadata.set('orderflow-correlation-id', settings.correlationId);
          if (!metadata.get('traceparent').length) {
            for (const [key, value] of Object.entries(traceHeaders())) metadata.set(key, value);
          }
          const callOptions: CallOptions = { deadline: Date.now() + (settings.deadlineMs ?? defaultDeadline) };
          invoke(request, metadata, callOptions, (err: ServiceError | null, response: unknown) => {
            span.setAttribute('rpc.grpc.status_code', err?.code ?? 0);
            if (err) reject(err);
            else resolve(response);
          });
        }),
      );
  }
  let closed = false;
  methods.close = () => {
    if (closed) return;
    closed = true;
    // client.close() would close the shared channel; the last user of the target closes it.
    releaseChannel(target);
  };
  return methods as GrpcClient<D>;
}
