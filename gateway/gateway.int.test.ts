import { afterAll, beforeAll, expect, it } from 'vitest';
import { bootInventory } from '../services/inventory/index.js';
import { connectNats, disabledAuthenticator, silentLogger, type Logger, type Nats, type RunningService } from '../services/platform/index.js';
import { captureLogs, freePort, startNatsServer, waitFor, type TestNatsServer } from '../services/platform/testing/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type RunningGateway } from './server.js';

// The gateway started before its subgraph: it serves the playground and says it is waiting,
// then composes the supergraph once the subgraph is up, without a restart.

let server: TestNatsServer;
let nats: Nats;
let gateway: RunningGateway;
let inventory: RunningService | undefined;
let dataDir: string;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'gateway-test', logger: silentLogger() });
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-gateway-'));
});

afterAll(async () => {
  await gateway?.close();
  await inventory?.close();
  await nats?.nc.drain();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** A gateway on a free port composing one subgraph, inventory's, retrying every 100 ms. */
const gatewayOf = (subgraphPort: number, logger: Logger, options: { attemptTimeoutMs?: number } = {}) =>
  startGateway({
    auth: disabledAuthenticator(),
    subgraphs: [{ name: 'inventory', url: `http://127.0.0.1:${subgraphPort}/graphql` }],
    js: nats.js,
    logger,
    port: 0,
    host: '127.0.0.1',
    limits: { maxDepth: 12, maxFields: 1000, maxCost: 10_000 },
    maxTokens: 10_000,
    retryMs: 100,
    ...options,
  });

const post = async (query: string) =>
  fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });

it('waits for a subgraph that starts late, then serves the supergraph', async () => {
  const subgraphPort = await freePort();
  const logs = captureLogs('gateway');
  gateway = await gatewayOf(subgraphPort, logs.logger);

  const health = await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
  expect(health.status).toBe(503);
  expect(await health.json()).toMatchObject({ status: 'WAITING_FOR_SUBGRAPHS' });
  const early = await post('{ products { nodes { sku } } }');
  expect(early.status).toBe(503);
  expect(await early.json()).toMatchObject({ errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
  expect((await fetch(gateway.playgroundUrl)).status).toBe(200);

  inventory = await bootInventory(
    { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRAPHQL_PORT: String(subgraphPort), GRAPHQL_HOST: '127.0.0.1' },
    { logger: silentLogger() },
  );
  await gateway.ready();
  const answer = await waitFor('the gateway to answer', async () => {
    const response = await post('mutation { createProduct(input: { sku: "LATE-1", name: "Late", price: { amountMinor: 100, currency: "EUR" } }) { sku } }');
    return response.status === 200 ? ((await response.json()) as unknown) : undefined;
  });
  expect(answer).toEqual({ data: { createProduct: { sku: 'LATE-1' } } });
  expect((await fetch(`http://127.0.0.1:${gateway.port}/healthz`)).status).toBe(200);
  // What a person watching the logs sees: the wait, the composition, each mutation.
  const messages = logs.lines.map((l) => l.msg);
  expect(messages).toEqual(expect.arrayContaining(['waiting for the subgraphs to compose the supergraph', 'supergraph composed']));
  expect(logs.lines.filter((l) => l.msg === 'graphql operation')).toContainEqual(expect.objectContaining({ type: 'mutation' }));
});

it('gives up an attempt a subgraph never answers, and composes once it answers', async () => {
  const subgraphPort = await freePort();
  // Something holds the subgraph's port: it accepts connections and never answers.
  const held: Socket[] = [];
  const silent = createTcpServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(subgraphPort, '127.0.0.1', resolve));
  const logs = captureLogs('gateway');
  const late = await gatewayOf(subgraphPort, logs.logger, { attemptTimeoutMs: 500 });
  const lateDir = await mkdtemp(join(tmpdir(), 'orderflow-gateway-'));
  let service: RunningService | undefined;
  try {
    await waitFor('an attempt to be given up', () => logs.lines.find((l) => l.msg === 'waiting for the subgraphs to compose the supergraph'));
    expect(held.length).toBeGreaterThan(0);
    expect(logs.lines.find((l) => l.msg === 'waiting for the subgraphs to compose the supergraph')).toMatchObject({ reason: 'the subgraphs did not all answer within 500 ms' });
    await new Promise<void>((resolve) => {
      silent.close(() => resolve());
      for (const socket of held) socket.destroy();
    });
    service = await bootInventory(
      { NATS_URL: server.url, DATA_DIR: lateDir, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRAPHQL_PORT: String(subgraphPort), GRAPHQL_HOST: '127.0.0.1' },
      { logger: silentLogger() },
    );
    await late.ready();
    expect((await fetch(`http://127.0.0.1:${late.port}/healthz`)).status).toBe(200);
  } finally {
    await late.close();
    await service?.close();
    await rm(lateDir, { recursive: true, force: true });
  }
});
