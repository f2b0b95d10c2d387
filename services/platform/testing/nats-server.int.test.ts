import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { startNatsServer } from './nats-server.js';

describe('startNatsServer', () => {
  it('starts a JetStream-enabled server on a free port and removes its store when stopped', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    expect(info.streams).toBe(0);
    await nc.close();
    await server.stop();
    await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
  });
});
