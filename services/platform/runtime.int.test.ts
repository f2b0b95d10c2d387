import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disabledAuthenticator, Events, encodeMessage, Header, jetStreamPublisher, silentLogger, startRuntime, streams } from './index.js';
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
      auth: disabledAuthenticator(),
      service: 'test',
      natsUrl: server.url,
      dataDir,
      streams,
      logger: silentLogger(),
    });
    const names = [];
    for await (const name of runtime.nats.jsm.streams.names()) names.push(name);
    expect(names.sort()).toEqual([...streams.map((s) => s.name), 'DEAD_LETTERS', 'REDRIVE'].sort());

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

  it('carries the trace, correlation and causation of a handled message into what its handler appends', async () => {
    const runtime = await startRuntime({ auth: disabledAuthenticator(), service: 'trace', natsUrl: server.url, dataDir, streams, logger: silentLogger() });
    const delivered = Events.OrderShipped; // a type no other test publishes
    await runtime.consume({
      stream: 'ORDERS_EVENTS',
      consumer: { durable: 'trace-test', filterSubject: delivered.subject },
      handler: async () => {
        const data = encodeMessage(Events.ShipmentDelivered, Events.ShipmentDelivered.codec.fromPartial({ orderId: 'o-9' }));
        await runtime.events.append('shipment-o-9', 'any', [{ type: Events.ShipmentDelivered.type, data, id: 'reply-1' }]);
      },
    });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await jetStreamPublisher(runtime.nats).publish({
      subject: delivered.subject,
      id: 'cause-1',
      type: delivered.type,
      data: encodeMessage(delivered, delivered.codec.fromPartial({ orderId: 'o-9' })),
      correlationId: 'o-9',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const reply = await waitFor('the reply on SHIPPING_EVENTS', async () => {
      const info = await runtime.nats.jsm.streams.info('SHIPPING_EVENTS');
      return info.state.messages > 0 ? runtime.nats.jsm.streams.getMessage('SHIPPING_EVENTS', { seq: info.state.last_seq }) : false;
    });
    expect(reply.header.get(Header.CausationId)).toBe('cause-1');
    expect(reply.header.get(Header.CorrelationId)).toBe('o-9');
    expect(reply.header.get(Header.Traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(reply.header.get(Header.Traceparent)).not.toContain('00f067aa0ba902b7');
    await runtime.close();
  });

  it('fails fast and closes what it opened when NATS is unreachable', async () => {
    await expect(
      startRuntime({ auth: disabledAuthenticator(), service: 'test', natsUrl: 'nats://127.0.0.1:1', dataDir, streams, logger: silentLogger() }),
    ).rejects.toThrow();
  });
});
