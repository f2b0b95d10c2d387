import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Events, encodeMessage, silentLogger, startRuntime, streams } from './index.js';
import { startNatsServer, waitFor, type TestNatsServer } from './testing/index.js';

let server: TestNatsServer;
let dataDir: string;

beforeAll(async () => {
  server = await startNatsServer();
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-runtime-'));
});

afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('startRuntime', () => {
  it('provisions streams, relays appended events, consumes them, and closes everything in order', async () => {
    const runtime = await startRuntime({
      service: 'test',
      natsUrl: server.url,
      dataDir,
      streams,
      logger: silentLogger(),
    });
    const names = [];
    for await (const name of runtime.nats.jsm.streams.names()) names.push(name);
    expect(names.sort()).toEqual([...streams.map((s) => s.name), 'DEAD_LETTERS'].sort());

    const seen: string[] = [];
    await runtime.consume({
      stream: 'ORDERS_EVENTS',
      consumer: { durable: 'runtime-test' },
      handler: async (m) => {
        seen.push(m.metadata.type);
      },
    });
    const grpc = await runtime.serveGrpc([], { port: 0, host: '127.0.0.1' });
    expect(grpc.port).toBeGreaterThan(0);

    const data = encodeMessage(Events.OrderDelivered, Events.OrderDelivered.codec.fromPartial({ orderId: 'o-1' }));
    await runtime.events.append('order-o-1', 0, [{ type: Events.OrderDelivered.type, data }]);
    await waitFor('the event to come back through JetStream', () => seen.length === 1);
    expect(seen).toEqual(['orderflow.orders.v1.OrderDelivered']);

    await runtime.close();
    expect(runtime.nats.nc.isClosed()).toBe(true);
    expect(() => runtime.store.collection('commits')).toThrow();
  });

  it('fails fast and closes what it opened when NATS is unreachable', async () => {
    await expect(
      startRuntime({ service: 'test', natsUrl: 'nats://127.0.0.1:1', dataDir, streams, logger: silentLogger() }),
    ).rejects.toThrow();
  });
});
