import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { subgraphPorts } from '../gateway/config.js';

/** Every Orderflow service process, in start order, with the ports `npm start` gives it (metrics: /metrics and /healthz). */
export const serviceTable = [
  { name: 'inventory', grpcPort: 50052, graphqlPort: subgraphPorts.inventory, metricsPort: 9462 },
  { name: 'payments', grpcPort: 50053, graphqlPort: subgraphPorts.payments, metricsPort: 9463 },
  { name: 'shipping', grpcPort: 50054, graphqlPort: subgraphPorts.shipping, metricsPort: 9464 },
  { name: 'orders', grpcPort: 50051, graphqlPort: subgraphPorts.orders, metricsPort: 9461 },
  { name: 'query', grpcPort: 50056, graphqlPort: subgraphPorts.query, metricsPort: 9466 },
  { name: 'notifications', grpcPort: 50055, graphqlPort: subgraphPorts.notifications, metricsPort: 9465 },
] as const;

/** The gateway: not a service (no store, no gRPC), started after them. */
export const gatewayProcess = { name: 'gateway', port: 4000, metricsPort: 9460 } as const;

export type ServiceName = (typeof serviceTable)[number]['name'];

/** The ports `npm start` gives a process (a service's or the gateway's). */
export function portsOf(name: string): number[] {
  if (name === gatewayProcess.name) return [gatewayProcess.port, gatewayProcess.metricsPort];
  const service = serviceTable.find((s) => s.name === name);
  return service ? [service.grpcPort, service.graphqlPort, service.metricsPort] : [];
}

/** The main.ts of a service, or undefined when the service is not built yet. */
export function mainOf(name: string): string | undefined {
  // The same extension as this module: .ts under tsx, .js in the compiled build (dist/).
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const file = name === gatewayProcess.name ? `../gateway/main.${ext}` : `../services/${name}/main.${ext}`;
  const path = fileURLToPath(new URL(file, import.meta.url));
  return existsSync(path) ? path : undefined;
}

/** The services whose main.ts exists, in start order. */
export function availableServices() {
  return serviceTable.filter((s) => mainOf(s.name));
}
