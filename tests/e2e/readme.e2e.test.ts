import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { serviceTable } from '../../scripts/services.js';
import { bufCurl } from '../../services/platform/testing/index.js';
import { startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// The README's examples, run as a newcomer would run them: every grpcurl command (through
// `buf curl` and reflection, as grpcurl needs no proto files either) against the services, and
// every GraphQL operation through the gateway.

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

interface GrpcExample {
  port: number;
  /** `list`, or a method path such as `orderflow.orders.v1.OrderService/PlaceOrder`. */
  target: string;
  body?: string;
  /** Whether it sends `-H "authorization: Bearer $ADMIN"` (an admin token, `npm run token -- --admin`). */
  asAdmin: boolean;
}

/** Every `grpcurl -plaintext [-H "authorization: Bearer $ADMIN"] [-d '<json>'] 127.0.0.1:<port> <target>` of the README, in order. */
function grpcExamples(): GrpcExample[] {
  const found: GrpcExample[] = [];
  const pattern = /grpcurl -plaintext( -H "authorization: Bearer \$ADMIN")?(?: -d '([^']*)')?[\s\\]*127\.0\.0\.1:(\d+) (\S+)/g;
  for (const match of readme.matchAll(pattern)) {
    found.push({ port: Number(match[3]), target: match[4]!, asAdmin: match[1] !== undefined, ...(match[2] !== undefined ? { body: match[2] } : {}) });
  }
  return found;
}

/** The GraphQL operations of the README: fenced ```graphql blocks. */
function graphqlExamples(): string[] {
  return [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

let gs: GatewaySystem;

beforeAll(async () => {
  gs = await startGatewaySystem();
});

afterAll(async () => {
  await gs?.close();
});

it('runs every grpcurl example of the README through reflection', async () => {
  const examples = grpcExamples();
  expect(examples.length).toBeGreaterThanOrEqual(10);
  // The README's ports are npm start's; here each service listens where the test started it.
  const portOf = new Map<number, number>(serviceTable.map((s) => [s.grpcPort, gs.system.grpcPort(s.name)]));
  let orderId = '';
  for (const example of examples) {
    const port = portOf.get(example.port);
    expect(port, `the README's port ${example.port} belongs to a service`).toBeDefined();
    if (example.target === 'list') {
      expect(await bufCurl('--list-services', `http://127.0.0.1:${port}`)).toContain('grpc.health.v1.Health');
      continue;
    }
    const body = (example.body ?? '{}').replace(/<id[^>]*>/g, orderId);
    const headers = example.asAdmin ? ['-H', `authorization: ${gs.system.adminAuthorization}`] : [];
    const output = await bufCurl(...headers, '-d', body, `http://127.0.0.1:${port}/${example.target}`);
    const answer = JSON.parse(output) as Record<string, any>;
    if (example.target.endsWith('/PlaceOrder')) {
      orderId = answer.order.id;
      // The examples after it look at a finished saga.
      await gs.system.waitForStatus(orderId, OrderStatus.ORDER_STATUS_COMPLETED);
    }
  }
  expect(orderId).not.toBe('');
});

it('runs every GraphQL example of the README through the gateway', async () => {
  const operations = graphqlExamples();
  expect(operations.length).toBeGreaterThanOrEqual(3);
  for (const operation of operations) {
    if (operation.trimStart().startsWith('subscription')) {
      const client = gs.ws();
      const first = await new Promise<unknown>((resolve, reject) => {
        const unsubscribe = client.subscribe({ query: operation.replace(/<id[^>]*>/g, 'ord_unknown') }, {
          next: (value) => (unsubscribe(), resolve(value)),
          error: reject,
          complete: () => resolve(undefined),
        });
      }).catch((err: unknown) => err);
      // An unknown order is refused by name; the operation itself is valid.
      expect(JSON.stringify(first)).toMatch(/not found|NOT_FOUND/);
      continue;
    }
    const answer = await gs.gql(operation);
    expect(answer.errors ?? [], operation).toEqual([]);
  }
});
