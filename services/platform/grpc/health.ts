import { status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthService,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from '../../../generated/grpc/health/v1/health.js';

export { HealthCheckResponse_ServingStatus as ServingStatus } from '../../../generated/grpc/health/v1/health.js';

/**
 * grpc.health.v1.Health: the overall status ('') and one status per served service. Watchers
 * get the current status at once and every change after it.
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{ service: string; call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse> }>();

  set(service: string, servingStatus: ServingStatus): void {
    if (this.statuses.get(service) === servingStatus) return;
    this.statuses.set(service, servingStatus);
    for (const watcher of this.watchers) {
      if (watcher.service === service) watcher.call.write({ status: servingStatus });
    }
  }

  /** Sets every known service, and the overall status, at once (start-up, shutdown). */
  setAll(servingStatus: ServingStatus): void {
    for (const service of [...this.statuses.keys(), '']) this.set(service, servingStatus);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  readonly definition = HealthService;

  readonly implementation: HealthServer = {
    check: (call, callback) => {
      const current = this.statuses.get(call.request.service);
      if (current === undefined) {
        const err = Object.assign(new Error(`unknown service ${JSON.stringify(call.request.service)}`), {
          code: status.NOT_FOUND,
          details: `unknown service ${JSON.stringify(call.request.service)}`,
        });
        callback(err as ServiceError, null);
        return;
      }
      callback(null, { status: current });
    },
    list: (_call, callback) => {
      callback(null, { statuses: Object.fromEntries([...this.statuses].map(([name, s]) => [name, { status: s }])) });
    },
    watch: (call) => {
      const watcher = { service: call.request.service, call };
      this.watchers.add(watcher);
      call.write({ status: this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN });
      call.on('cancelled', () => this.watchers.delete(watcher));
      call.on('close', () => this.watchers.delete(watcher));
    },
  };

  /** Ends every Watch stream (server shutdown). */
  close(): void {
    for (const watcher of this.watchers) watcher.call.end();
    this.watchers.clear();
  }
}
