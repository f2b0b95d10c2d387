import { randomUUID } from 'node:crypto';
import { Server, ServerCredentials, status, type ServiceDefinition, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ServerInfoServiceService } from '../../../generated/orderflow/platform/v1/server_info.js';
import type { Logger } from '../logging.js';
import { counter, histogram } from '../metrics.js';
import type { Authenticator } from '../auth/authenticator.js';
import { guarded } from './guard.js';
import { implement } from './handlers.js';
import { HealthRegistry, ServingStatus } from './health.js';
import { DescriptorIndex, reflectionServices } from './reflection.js';

/** A service to serve: its ts-proto definition and implementation (see `implement`). */
export interface ServiceBinding {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  /** The Orderflow service name, e.g. `orders`, reported by ServerInfoService. */
  service: string;
  services: ServiceBinding[];
  logger: Logger;
  /** Verifies each call's bearer token; every method of `services` is checked against its rule in the access table. */
  auth: Authenticator;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Bind address; default 127.0.0.1 (loopback). */
  host?: string;
  /** The Orderflow release; defaults to package.json's version via npm. */
  version?: string;
}

export interface GrpcServer {
  /** The port actually bound. */
  readonly port: number;
  /** `127.0.0.1:<port>`, for clients on this machine. */
  readonly address: string;
  readonly health: HealthRegistry;
  /** Calls answered so far, by method path (`/orderflow.orders.v1.OrderService/GetOrder`). */
  calls(): Record<string, number>;
  /** Stops accepting calls, lets in-flight calls finish (up to `graceMs`, default 5 s), then closes. */
  shutdown(graceMs?: number): Promise<void>;
}

const descriptorsUrl = new URL('../../../generated/descriptors.binpb', import.meta.url);
let sharedIndex: DescriptorIndex | undefined;

/** Fully qualified service name of a ts-proto definition, from its first method's path. */
export function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('service definition has no methods');
  return first.path.split('/')[1] ?? '';
}

const requests = counter('orderflow_grpc_server_requests_total', 'gRPC calls received, by method', ['method']);
const errors = counter('orderflow_grpc_server_errors_total', 'gRPC calls answered with a status other than OK, by method and code', ['method', 'code']);
const durations = histogram('orderflow_grpc_server_duration_seconds', 'Time from receiving a gRPC call to answering it, by method and code', ['method', 'code']);

type UnaryCallback = (err: Partial<ServiceError> | null, ...rest: unknown[]) => void;

/**
 * The binding with every unary method counting its calls into `calls`, keyed by method path, and
 * into the process's request, error and duration metrics, by method path and status code.
 */
function counted(binding: ServiceBinding, calls: Record<string, number>): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(binding.implementation)) {
    const path = binding.definition[name]?.path ?? name;
    implementation[name] = ((call: unknown, callback: UnaryCallback) => {
      calls[path] = (calls[path] ?? 0) + 1;
      requests.inc({ method: path });
      const stop = durations.startTimer({ method: path });
      const answer: UnaryCallback = (err, ...rest) => {
        const code = status[err?.code ?? status.OK] ?? String(err?.code);
        stop({ code });
        if (err && err.code !== status.OK) errors.inc({ method: path, code });
        callback(err, ...rest);
      };
      return (handler as (call: unknown, callback: unknown) => void)(call, answer);
    }) as typeof handler;
  }
  return implementation;
}

/**
 * Starts a gRPC server with the given services plus what every Orderflow process serves:
 * grpc.health.v1 health (every service SERVING once bound), server reflection v1/v1alpha (so
 * grpcurl and `buf curl` work), and orderflow.platform.v1.ServerInfoService. Those three answer
 * anyone; every method of `services` verifies the caller's token first (guard.ts).
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const index = (sharedIndex ??= DescriptorIndex.load(descriptorsUrl));
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  const health = new HealthRegistry();
  const startedAt = new Date();
  const instanceId = randomUUID();
  const version = options.version ?? process.env.npm_package_version ?? '0.0.0';

  const calls: Record<string, number> = {};
  const serverInfo: ServiceBinding = {
    definition: ServerInfoServiceService,
    implementation: implement(
      ServerInfoServiceService,
      {
        getServerInfo: async () => {
          const uptimeMs = Date.now() - startedAt.getTime();
          return {
            service: options.service,
            version,
            instanceId,
            startedAt,
            uptime: { seconds: Math.floor(uptimeMs / 1000), nanos: (uptimeMs % 1000) * 1_000_000 },
            calls: { ...calls },
          };
        },
      },
      options.logger,
    ),
  };
  const served = [...options.services, serverInfo];
  const names = [...served.map((s) => serviceNameOf(s.definition)), serviceNameOf(health.definition)];
  for (const name of names) {
    if (!index.hasService(name)) throw new Error(`service ${name} is not in generated/descriptors.binpb; run npm run gen`);
  }
  const reflected = reflectionServices(index, () => [...names, 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);
  // ServerInfo stays open, as health and reflection do: it tells no data, and grpcurl needs no token.
  for (const binding of options.services) {
    server.addService(binding.definition, counted({ ...binding, implementation: guarded(binding, options.auth, options.logger) }, calls));
  }
  server.addService(serverInfo.definition, counted(serverInfo, calls));
  for (const binding of [{ definition: health.definition, implementation: health.implementation }, ...reflected]) {
    server.addService(binding.definition, binding.implementation);
  }

  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 0}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(new Error(`cannot bind gRPC server on ${host}:${options.port ?? 0}: ${err.message}`)) : resolve(bound),
    );
  });
  for (const name of names) health.set(name, ServingStatus.SERVING);
  health.set('', ServingStatus.SERVING);
  options.logger.info({ port, services: names }, 'gRPC server listening');

  return {
    port,
    address: `127.0.0.1:${port}`,
    health,
    calls: () => ({ ...calls }),
    async shutdown(graceMs = 5000) {
      health.setAll(ServingStatus.NOT_SERVING);
      health.close();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      options.logger.info({ port }, 'gRPC server stopped');
    },
  };
}
