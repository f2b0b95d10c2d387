// Health that follows the process's dependencies: gRPC health and /healthz go NOT_SERVING while
// nats-server is down (killed, then started again on the same port and store) and while storage
// does not answer, and SERVING again once NATS is back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthService } from '../../generated/grpc/health/v1/health.js';
import { disabledAuthenticator, grpcClient, openDocumentStore, ServingStatus, silentLogger, startRuntime, streams, type Runtime } from './index.js';
import { startNatsServer, waitFor, type TestNatsServer } from './testing/index.js';

let server: TestNatsServer;
let dataDir: string;
beforeAll(async () => {
  server = await startNatsServer();
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-health-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function healthz(runtime: Runtime): Promise<{ code: number; body: { status: string; checks: Record<string, { ok: boolean }> } }> {
  const response = await fetch(runtime.metricsUrl!.replace(/\/metrics$/, '/healthz'));
  return { code: response.status, body: (await response.json()) as never };
}

describe('process health', () => {
  it('is NOT_SERVING while nats-server is down and SERVING again once it is back', async () => {
    const runtime = await startRuntime({ auth: disabledAuthenticator(), service: 'health', natsUrl: server.url, dataDir, streams, logger: silentLogger(), metrics: { port: 0 } });
    const grpc = await runtime.serveGrpc([], { port: 0, host: '127.0.0.1' });
    const health = grpcClient(HealthService, grpc.address, { deadlineMs: 1_000 });
    const status = async () => (await health.check({ service: '' })).status;
    try {
      await waitFor('SERVING at start', async () => (await status()) === ServingStatus.SERVING);
      expect(await healthz(runtime)).toMatchObject({ code: 200, body: { status: 'SERVING', checks: { nats: { ok: true }, storage: { ok: true } } } });

      await server.kill();
      await waitFor('NOT_SERVING with NATS down', async () => (await status()) === ServingStatus.NOT_SERVING);
      expect((await health.check({ service: 'orderflow.platform.v1.ServerInfoService' })).status).toBe(ServingStatus.NOT_SERVING);
      expect(await healthz(runtime)).toMatchObject({ code: 503, body: { status: 'NOT_SERVING', checks: { nats: { ok: false }, storage: { ok: true } } } });

      await server.start();
      await waitFor('SERVING with NATS back', async () => (await status()) === ServingStatus.SERVING, { timeoutMs: 15_000 });
      expect(await healthz(runtime)).toMatchObject({ code: 200, body: { status: 'SERVING' } });
    } finally {
      health.close();
      await runtime.close();
    }
  });

  it('is NOT_SERVING once storage stops answering', async () => {
    const store = await openDocumentStore({ dataDir: join(dataDir, 'closing') });
    const runtime = await startRuntime({
      auth: disabledAuthenticator(),
      service: 'health-storage',
      natsUrl: server.url,
      dataDir,
      streams,
      store,
      logger: silentLogger(),
      metrics: { port: 0 },
      storageProbeIntervalMs: 50,
    });
    const grpc = await runtime.serveGrpc([], { port: 0, host: '127.0.0.1' });
    const health = grpcClient(HealthService, grpc.address, { deadlineMs: 1_000 });
    try {
      await waitFor('SERVING at start', async () => (await health.check({ service: '' })).status === ServingStatus.SERVING);
      await store.close();
      await waitFor('NOT_SERVING with storage closed', async () => (await health.check({ service: '' })).status === ServingStatus.NOT_SERVING);
      expect(await healthz(runtime)).toMatchObject({ code: 503, body: { checks: { nats: { ok: true }, storage: { ok: false } } } });
    } finally {
      health.close();
      await runtime.close();
    }
  });
});
