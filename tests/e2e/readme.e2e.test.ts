import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { serviceTable } from '../../scripts/services.js';
import { bufCurl } from '../../services/platform/testing/index.js';
import { startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// The README's examples, run as a newcomer would run them: every grpcurl command with the real
// grpcurl (reflection, no proto files), its answer checked against what the example asked for,
// and every GraphQL operation through the gateway.

const run = promisify(execFile);
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** A grpcurl command of the README, as written (continuation lines joined). */
interface GrpcExample {
  command: string;
  port: number;
  /** `list`, or a method path such as `orderflow.orders.v1.OrderService/PlaceOrder`. */
  target: string;
  body: Record<string, any> | undefined;
}

/** Every `grpcurl ...` command of the README's sh blocks, in order. */
function grpcExamples(): GrpcExample[] {
  const found: GrpcExample[] = [];
  for (const [, block] of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let i = 0;
    const text = block!;
    for (;;) {
      const start = text.indexOf('grpcurl ', i);
      if (start < 0) break;
      // A command ends at a newline outside single quotes that is not escaped by a backslash.
      let end = start;
      let quoted = false;
      for (; end < text.length; end++) {
        const c = text[end];
        if (c === "'") quoted = !quoted;
        if (c === '\n' && !quoted && text[end - 1] !== '\\') break;
      }
      const command = text.slice(start, end).replace(/\\\n\s*/g, ' ');
      i = end;
      const address = /127\.0\.0\.1:(\d+) (\S+)\s*$/.exec(command);
      if (!address) continue;
      const body = /-d '([^']*)'/.exec(command)?.[1];
      found.push({ command, port: Number(address[1]), target: address[2]!, body: body === undefined ? undefined : (JSON.parse(body.replace(/<id[^>]*>/g, '')) as Record<string, any>) });
    }
  }
  return found;
}

/** The grpcurl built by scripts/tools.sh (`npm run tools`), else one on PATH. */
const toolsBin = fileURLToPath(new URL('../../.tools/bin', import.meta.url));
async function grpcurl(command: string, env: Record<string, string>): Promise<Record<string, any> | string> {
  const { stdout } = await run('sh', ['-c', command], { env: { ...process.env, ...env, PATH: `${toolsBin}:${process.env.PATH ?? ''}` }, timeout: 20_000 });
  try {
    return JSON.parse(stdout) as Record<string, any>;
  } catch {
    return stdout; // `list` prints names, one per line
  }
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

it('runs every grpcurl example of the README with grpcurl, each answering what the example asked for', async () => {
  const examples = grpcExamples();
  expect(examples.length).toBeGreaterThanOrEqual(10);
  // The README's ports are npm start's; here each service listens where the test started it.
  const portOf = new Map<number, number>(serviceTable.map((s) => [s.grpcPort, gs.system.grpcPort(s.name)]));
  const serviceOf = new Map<number, string>(serviceTable.map((s) => [s.grpcPort, s.name]));
  let orderId = '';
  let product: Record<string, any> = {};
  let order: Record<string, any> = {};
  for (const example of examples) {
    const port = portOf.get(example.port);
    expect(port, `the README's port ${example.port} belongs to a service`).toBeDefined();
    const command = example.command.replace(`127.0.0.1:${example.port}`, `127.0.0.1:${port}`).replace(/<id[^>]*>/g, orderId);
    // `$ADMIN` of the README's commands: an admin token (`npm run token -- --admin` there).
    const answer = await grpcurl(command, { ADMIN: gs.system.adminAuthorization.replace(/^Bearer /, '') });
    const method = example.target.split('/').at(-1);
    const json = answer as Record<string, any>;
    switch (method) {
      case 'list':
        expect(answer).toContain('grpc.health.v1.Health');
        expect(answer).toContain('grpc.reflection.v1.ServerReflection');
        break;
      case 'GetServerInfo':
        expect(json.service).toBe(serviceOf.get(example.port));
        break;
      case 'Check':
        expect(json.status).toBe('SERVING');
        break;
      case 'CreateProduct':
        product = example.body!;
        // int64 fields are strings in protobuf's JSON.
        expect(json.product).toMatchObject({ sku: product.sku, name: product.name, onHand: String(product.onHand), available: String(product.onHand) });
        break;
      case 'PlaceOrder':
        order = example.body!;
        orderId = json.order.id;
        expect(json.order).toMatchObject({ customerId: order.customerId, status: 'ORDER_STATUS_PLACED' });
        // The examples after it look at a finished saga.
        await gs.system.waitForStatus(orderId, OrderStatus.ORDER_STATUS_COMPLETED);
        break;
      case 'GetOrderHistory':
        expect(json.entries.map((e: { type: string }) => e.type.split('.').at(-1))).toEqual(
          expect.arrayContaining(['OrderPlaced', 'OrderStepStarted', 'OrderCompleted']),
        );
        break;
      case 'GetPayment': {
        const total = order.items.reduce((sum: number, item: { quantity: number }) => sum + item.quantity * product.price.amountMinor, 0);
        expect(json.payment).toMatchObject({ orderId, status: 'PAYMENT_STATUS_CAPTURED', amount: { amountMinor: String(total), currency: product.price.currency } });
        break;
      }
      case 'DispatchShipment':
        expect(json.shipment).toMatchObject({ orderId, status: 'SHIPMENT_STATUS_DISPATCHED' });
        break;
      case 'GetOrderView':
        expect(json.order).toMatchObject({ orderId, customerId: order.customerId });
        break;
      case 'GetSalesAnalytics':
        expect(JSON.stringify(json)).toContain(product.price.currency);
        break;
      case 'ListNotifications':
        expect(json.notifications.length).toBeGreaterThan(0);
        expect(json.notifications.every((n: { orderId: string }) => n.orderId === orderId)).toBe(true);
        break;
      default:
        throw new Error(`no check for the README's ${example.target}: add one`);
    }
  }
  expect(orderId).not.toBe('');
  // buf curl, the README's alternative, reaches the same reflection.
  expect(await bufCurl('--list-services', `http://127.0.0.1:${gs.system.grpcPort('orders')}`)).toContain('grpc.health.v1.Health');
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
    if (operation.includes('<sequence')) {
      // No dead letter has this sequence: refused by name, the operation itself valid.
      const answer = await gs.gql(operation.replace(/<sequence[^>]*>/g, '999999'));
      expect(answer.errors?.map((e) => e.extensions?.code), operation).toEqual(['NOT_FOUND']);
      continue;
    }
    const answer = await gs.gql(operation);
    expect(answer.errors ?? [], operation).toEqual([]);
  }
});
