import { Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufCurl as bufCurlCommand } from '../testing/service-kit.js';
import { ServerInfoServiceService } from '../../../generated/orderflow/platform/v1/server_info.js';
import { HealthService } from '../../../generated/grpc/health/v1/health.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { silentLogger } from '../logging.js';
import { grpcClient } from './client.js';
import { readGrpcFailure } from './errors.js';
import { implement } from './handlers.js';
import { disabledAuthenticator } from '../auth/authenticator.js';
import { startGrpcServer, type GrpcServer } from './server.js';

/** Runs `buf curl` over plaintext HTTP/2 against the server, as a user would from a shell. */
const bufCurl = (_server: GrpcServer, ...args: string[]) => bufCurlCommand(...args);

describe('gRPC bootstrap', () => {
  let server: GrpcServer;
  beforeAll(async () => {
    server = await startGrpcServer({ service: 'orders', services: [], logger: silentLogger(), auth: disabledAuthenticator(), host: '127.0.0.1', version: '1.2.3' });
  });
  afterAll(() => server.shutdown());

  it('lists its services through reflection', async () => {
    const out = await bufCurl(server, '--list-services', `http://${server.address}`);
    expect(out.trim().split('\n').sort()).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'orderflow.platform.v1.ServerInfoService',
    ]);
  });

  it('calls a method whose messages import well-known types (Timestamp, Duration) through reflection', async () => {
    const out = await bufCurl(server, '-d', '{}', `http://${server.address}/orderflow.platform.v1.ServerInfoService/GetServerInfo`);
    const info = JSON.parse(out) as { service: string; version: string; startedAt: string; uptime: string; instanceId: string };
    expect(info.service).toBe('orders');
    expect(info.version).toBe('1.2.3');
    expect(Date.parse(info.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(info.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(info.uptime).toMatch(/^\d+(\.\d+)?s$/);
  });

  it('describes the methods of a service through reflection', async () => {
    const out = await bufCurl(server, '--list-methods', `http://${server.address}`);
    expect(out.trim().split('\n')).toEqual(
      expect.arrayContaining(['orderflow.platform.v1.ServerInfoService/GetServerInfo', 'grpc.health.v1.Health/Check', 'grpc.health.v1.Health/Watch']),
    );
  });

  it('answers health checks, overall and per service, and NOT_FOUND for an unknown service', async () => {
    const overall = await bufCurl(server, '-d', '{}', `http://${server.address}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(overall)).toEqual({ status: 'SERVING' });
    const one = await bufCurl(server, '-d', '{"service":"orderflow.platform.v1.ServerInfoService"}', `http://${server.address}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(one)).toEqual({ status: 'SERVING' });

    const health = grpcClient(HealthService, server.address);
    try {
      const err = await health.check({ service: 'orderflow.nope.v1.Nope' }).catch((e: ServiceError) => e);
      expect((err as ServiceError).code).toBe(status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  it('reports NOT_SERVING to watchers when it shuts down', async () => {
    const other = await startGrpcServer({ service: 'inventory', services: [], logger: silentLogger(), auth: disabledAuthenticator(), host: '127.0.0.1' });
    const client = await import('../../../generated/grpc/health/v1/health.js');
    const { credentials } = await import('@grpc/grpc-js');
    const raw = new client.HealthClient(other.address, credentials.createInsecure());
    const seen: number[] = [];
    const stream = raw.watch({ service: '' });
    const ended = new Promise<void>((resolve) => {
      stream.on('data', (r: { status: number }) => seen.push(r.status));
      stream.on('end', () => resolve());
      stream.on('error', () => resolve());
    });
    await expect.poll(() => seen.length).toBe(1);
    await other.shutdown(1000);
    await ended;
    raw.close();
    expect(seen).toEqual([1, 2]);
  });
});

describe('error mapping', () => {
  let server: Server;
  let address: string;
  let fail: () => Error;
  beforeAll(async () => {
    server = new Server();
    server.addService(
      ServerInfoServiceService,
      implement(ServerInfoServiceService, { getServerInfo: async () => { throw fail(); } }, silentLogger()),
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));

  async function failureOf(error: Error) {
    fail = () => error;
    const client = grpcClient(ServerInfoServiceService, address);
    try {
      const err = await client.getServerInfo({}).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(err, 'the call should fail').toBeDefined();
      return readGrpcFailure(err!);
    } finally {
      client.close();
    }
  }

  it('maps a ValidationError to INVALID_ARGUMENT with every field violation', async () => {
    const failure = await failureOf(
      new ValidationError([
        { field: 'items[0].quantity', description: 'must be greater than 0' },
        { field: 'customer_email', description: 'is not an e-mail address' },
      ]),
    );
    expect(failure).toEqual({
      code: status.INVALID_ARGUMENT,
      message: 'invalid request: items[0].quantity: must be greater than 0; customer_email: is not an e-mail address',
      reason: 'VALIDATION',
      fieldViolations: [
        { field: 'items[0].quantity', description: 'must be greater than 0' },
        { field: 'customer_email', description: 'is not an e-mail address' },
      ],
    });
  });

  it('maps NotFoundError to NOT_FOUND', async () => {
    const failure = await failureOf(new NotFoundError('order', 'ord_1'));
    expect(failure).toMatchObject({ code: status.NOT_FOUND, message: 'order "ord_1" not found', reason: 'NOT_FOUND' });
  });

  it('hides unexpected errors behind INTERNAL without their message or stack', async () => {
    const failure = await failureOf(new TypeError('secret internals at /srv/app.ts:12'));
    expect(failure).toEqual({ code: status.INTERNAL, message: 'internal error', reason: 'INTERNAL', fieldViolations: [] });
  });

  it('fails a call that outlives its deadline with DEADLINE_EXCEEDED', async () => {
    const slow = new Server();
    slow.addService(ServerInfoServiceService, {
      getServerInfo: () => {
        /* never answers */
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      slow.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const client = grpcClient(ServerInfoServiceService, `127.0.0.1:${port}`, { deadlineMs: 200 });
    const err = await client.getServerInfo({}).catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
    client.close();
    slow.forceShutdown();
  });
});
