import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Every Orderflow process, in start order, with the port `npm start` gives it. */
export const serviceTable = [
  { name: 'inventory', grpcPort: 50052 },
  { name: 'payments', grpcPort: 50053 },
  { name: 'shipping', grpcPort: 50054 },
  { name: 'orders', grpcPort: 50051 },
  { name: 'query', grpcPort: 50056 },
  { name: 'notifications', grpcPort: 50055 },
] as const;

export type ServiceName = (typeof serviceTable)[number]['name'];

/** The main.ts of a service, or undefined when the service is not built yet. */
export function mainOf(name: string): string | undefined {
  const path = fileURLToPath(new URL(`../services/${name}/main.ts`, import.meta.url));
  return existsSync(path) ? path : undefined;
}

/** The services whose main.ts exists, in start order. */
export function availableServices() {
  return serviceTable.filter((s) => mainOf(s.name));
}
