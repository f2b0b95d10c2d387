import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bootInventory } from '../services/inventory/index.js';
import { connectNats, disabledAuthenticator, ensureStream, Events, silentLogger, streamFor, type Nats, type RunningService } from '../services/platform/index.js';
import { startNatsServer, waitFor, type TestNatsServer } from '../services/platform/testing/index.js';
import { startGateway, type RunningGateway } from './server.js';

// What the gateway refuses, and how: GraphQL-shaped JSON over HTTP, an error for the one operation
// over the WebSocket (the socket stays open), 403 at upgrade for a foreign Origin.

let server: TestNatsServer;
let nats: Nats;
let inventory: RunningService;
let gateway: RunningGateway;
let dataDir: string;
const clients: Client[] = [];
const maxCost = 2_000;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'gateway-admission-test', logger: silentLogger() });
  await ensureStream(nats.jsm, streamFor(Events.OrderPlaced));
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-gateway-admission-'));
  inventory = await bootInventory(
    { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRAPHQL_PORT: '0', GRAPHQL_HOST: '127.0.0.1' },
    { logger: silentLogger() },
  );
  gateway = await startGateway({
    auth: disabledAuthenticator(),
    subgraphs: [{ name: 'inventory', url: inventory.graphqlUrl }],
    js: nats.js,
    logger: silentLogger(),
    port: 0,
    host: '127.0.0.1',
    limits: { maxDepth: 12, maxFields: 1000, maxCost },
    maxTokens: 10_000,
    maxSubscriptionsPerSocket: 2,
    allowedOrigins: ['https://shop.example'],
    retryMs: 100,
  });
  await gateway.ready();
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await gateway?.close();
  await inventory?.close();
  await nats?.nc.drain();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Answer = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const gql = async (query: string, variables?: Record<string, unknown>) => {
  const response = await post(JSON.stringify({ query, variables }));
  return { status: response.status, body: (await response.json()) as Answer };
};

/** A graphql-ws client; `origin` sets the upgrade's Origin header. */
function wsClient(origin?: string): Client {
  class WithOrigin extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, origin ? { headers: { origin } } : {});
    }
  }
  const client = createClient({ url: gateway.wsUrl, webSocketImpl: WithOrigin, retryAttempts: 0, lazy: true });
  clients.push(client);
  return client;
}

/** Runs one operation over `client`: its single result, or the errors the server refused it with. */
function once(client: Client, payload: { query: string; variables?: Record<string, unknown> }): Promise<ExecutionResult | { refused: unknown }> {
  return new Promise((resolve) => {
    let result: ExecutionResult | undefined;
    client.subscribe(payload, {
      next: (value) => (result = value as ExecutionResult),
      error: (refused) => resolve({ refused }),
      complete: () => resolve(result ?? { refused: 'completed without a result' }),
    });
  });
}

/** `levels` fragments, each spreading the previous one `fanOut` times. */
function fragmentBomb(levels: number, fanOut: number): string {
  const fragments = ['fragment F0 on Product { sku name onHand available reserved }'];
  for (let i = 1; i <= levels; i++) fragments.push(`fragment F${i} on Product { ${Array(fanOut).fill(`...F${i - 1}`).join(' ')} }`);
  return `{ product(sku: "A") { ...F${levels} } } ${fragments.join(' ')}`;
}

const products = '{ products(first: 3) { nodes { sku } } }';

describe('over HTTP, every error is GraphQL-shaped JSON', () => {
  it('answers a body that is not JSON with 400 BAD_REQUEST', async () => {
    const response = await post('{"query": ');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ errors: [{ message: 'the request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('answers a body over 256 KiB with 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await post(JSON.stringify({ query: `{ products { nodes { sku } } } # ${'x'.repeat(300_000)}` }));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      errors: [{ message: `the request body is larger than ${256 * 1024} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('answers a body it cannot read, or a request that is no GraphQL operation, with JSON', async () => {
    const answers = [
      await post('xx', { 'content-encoding': 'br' }),
      await post('{}', { 'content-type': 'text/plain' }),
      await fetch(gateway.url),
      await fetch(gateway.url, { method: 'DELETE' }),
    ];
    const seen = await Promise.all(answers.map(async (r) => ({ status: r.status, type: r.headers.get('content-type'), body: await r.text() })));
    for (const answer of seen) {
      expect(answer.status, JSON.stringify(answer)).toBeGreaterThanOrEqual(400);
      expect(answer.status, JSON.stringify(answer)).toBeLessThan(500);
      expect(answer.type, JSON.stringify(answer)).toMatch(/^application\/json/);
      expect(answer.body).not.toContain(process.cwd());
      expect(answer.body).not.toMatch(/stacktrace|node_modules/);
      expect(JSON.parse(answer.body), JSON.stringify(answer)).toEqual({ errors: [expect.objectContaining({ message: expect.any(String) })] });
    }
  });

  it('answers several operations without operationName with 400 BAD_REQUEST, and runs the named one', async () => {
    const document = `query A ${products} query B { product(sku: "none") { sku } }`;
    const unnamed = await post(JSON.stringify({ query: document }));
    expect(unnamed.status).toBe(400);
    expect(await unnamed.json()).toEqual({
      errors: [{ message: 'the document has several operations: name the one to run in operationName', extensions: { code: 'BAD_REQUEST' } }],
    });
    const named = await post(JSON.stringify({ query: document, operationName: 'B' }));
    expect(await named.json()).toEqual({ data: { product: null } });
  });

  it('answers an unknown path with a JSON 404, and sends no X-Powered-By', async () => {
    const response = await fetch(`http://127.0.0.1:${gateway.port}/admin`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(await response.json()).toEqual({
      errors: [{ message: 'nothing is served at GET /admin: GraphQL is at POST /graphql', extensions: { code: 'NOT_FOUND' } }],
    });
    expect((await post(JSON.stringify({ query: products }))).headers.get('x-powered-by')).toBeNull();
  });

  // Only an admin sees the subgraphs (tests/e2e/identity.e2e.test.ts shows an anonymous caller
  // does not); with identity checks off, as here, every caller is an admin.
  it('answers /healthz with its status and, to an admin, the subgraph URLs of healthDetails()', async () => {
    const response = await fetch(`http://127.0.0.1:${gateway.port}/healthz`);
    expect(response.status).toBe(200);
    expect(gateway.healthDetails()).toEqual({ status: 'SERVING', subgraphs: [{ name: 'inventory', url: inventory.graphqlUrl }] });
    expect(await response.json()).toEqual(gateway.healthDetails());
  });
});

describe('the cost limit', () => {
  it('refuses 150 aliases of a list with COST_LIMIT_EXCEEDED, giving the cost and the limit', async () => {
    const aliases = Array.from({ length: 150 }, (_, i) => `p${i}: products { nodes { sku } }`).join(' ');
    const { status, body } = await gql(`query Wide { ${aliases} }`);
    const cost = 150 * (1 + 20 * 2);
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([
      {
        message: `operation Wide costs ${cost} (rows × fields, each list counted at its first/limit or default page size); the limit is ${maxCost}: ask for smaller pages or fewer fields`,
        extensions: { code: 'COST_LIMIT_EXCEEDED', cost, maxCost },
        locations: [{ line: 1, column: 1 }],
      },
    ]);
  });

  it('reads the page size from the variables', async () => {
    const query = 'query($n: Int) { products(first: $n) { nodes { sku name } } }';
    expect((await gql(query, { n: 5 })).body).toEqual({ data: { products: { nodes: [] } } });
    const big = await gql(query, { n: 900 });
    expect(big.body.errors?.[0]?.extensions).toEqual({ code: 'COST_LIMIT_EXCEEDED', cost: 1 + 900 * 3, maxCost });
  });
});

describe('a fragment bomb', () => {
  const bomb = fragmentBomb(12, 4);

  it('is refused by the field limit, while a query on another connection answers', async () => {
    // Several bombs at once over HTTP and one over the WebSocket, and an ordinary query beside them.
    const overHttp = [gql(bomb), gql(bomb), gql(bomb)];
    const overSocket = once(wsClient(), { query: bomb });
    const ordinary = gql(products);
    expect((await ordinary).body).toEqual({ data: { products: { nodes: [] } } });
    const refusal = `the operation selects ${1 + 5 * 4 ** 12} fields; the limit is 1000`;
    for (const answer of await Promise.all(overHttp)) {
      expect(answer.status).toBe(400);
      expect(answer.body.errors?.map((e) => e.message)).toEqual([refusal]);
    }
    expect(await overSocket).toEqual({ refused: [expect.objectContaining({ message: refusal })] });
  });
});

describe('over the WebSocket', () => {
  it('applies the token limit, refusing that operation only', async () => {
    const client = wsClient();
    // 20,000 tokens in about 60 kB: under the message size limit, over the token limit.
    const long = `{ ${Array(20_000).fill('sku').join(' ')} }`;
    expect(await once(client, { query: long })).toEqual({
      refused: [{ message: expect.stringMatching(/^Syntax Error: Document contains more th\w+ 10000 tokens/), extensions: { code: 'GRAPHQL_PARSE_FAILED' } }],
    });
    expect(await once(client, { query: products })).toEqual({ data: { products: { nodes: [] } } });
  });

  it('applies the cost limit with the variables', async () => {
    const refused = await once(wsClient(), { query: 'query($n: Int) { products(first: $n) { nodes { sku name } } }', variables: { n: 900 } });
    expect(refused).toEqual({ refused: [expect.objectContaining({ extensions: { code: 'COST_LIMIT_EXCEEDED', cost: 1 + 900 * 3, maxCost } })] });
  });

  it('refuses a subscription beyond the per-socket cap and keeps the socket open', async () => {
    const client = wsClient();
    const subscription = 'subscription($id: ID!) { orderStatusChanged(orderId: $id) { status } }';
    const started: string[] = [];
    const cancels = ['o-1', 'o-2'].map((id) =>
      client.subscribe({ query: subscription, variables: { id } }, { next: () => {}, error: (e) => started.push(`error ${JSON.stringify(e)}`), complete: () => {} }),
    );
    // The first two are open once the socket is; the third is refused on the same socket.
    const third = await once(client, { query: subscription, variables: { id: 'o-3' } });
    expect(third).toEqual({
      refused: [
        {
          message: 'this socket already has 2 operations open; the limit is 2: complete one first',
          extensions: { code: 'SUBSCRIPTION_LIMIT_EXCEEDED', limit: 2 },
        },
      ],
    });
    expect(started).toEqual([]);
    cancels[0]!();
    const afterOneEnded = await waitFor('a query to be admitted once a subscription ended', async () => {
      const answer = await once(client, { query: products });
      return 'data' in answer ? answer : undefined;
    });
    expect(afterOneEnded).toEqual({ data: { products: { nodes: [] } } });
    cancels[1]!();
  });

  it('refuses a foreign Origin at upgrade with 403, and admits its own, the configured one and none', async () => {
    expect(await upgradeStatus('https://evil.example')).toBe(403);
    expect(await upgradeStatus('null')).toBe(403);
    expect(await upgradeStatus(`http://localhost:${gateway.port}`)).toBe(101);
    expect(await upgradeStatus(`http://127.0.0.1:${gateway.port}`)).toBe(101);
    expect(await upgradeStatus('https://shop.example')).toBe(101);
    expect(await upgradeStatus(undefined)).toBe(101);
    expect(await once(wsClient(`http://127.0.0.1:${gateway.port}`), { query: products })).toEqual({ data: { products: { nodes: [] } } });
  });
});

/** The status the gateway answers a WebSocket upgrade with from `origin` (101: switched). */
function upgradeStatus(origin: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: gateway.port,
      path: '/graphql',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
        'sec-websocket-protocol': 'graphql-transport-ws',
        ...(origin ? { origin } : {}),
      },
    });
    req.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    req.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
