// Identity and access through the real processes: the access table (services/platform/auth/
// policy.ts) walked entry by entry for an anonymous caller, a customer and an admin, through the
// gateway for GraphQL and straight at each service for gRPC; then what must hold around it: a
// customer sees only their own orders, another customer's order is NOT_FOUND over queries and
// subscriptions, and going around the gateway without a token gains nothing.
import { status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryServiceService } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { NotificationServiceService } from '../../generated/orderflow/notifications/v1/notifications_service.js';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService } from '../../generated/orderflow/orders/v1/orders_service.js';
import { PaymentServiceService } from '../../generated/orderflow/payments/v1/payments_service.js';
import { AdminServiceService } from '../../generated/orderflow/platform/v1/admin_service.js';
import { ServerInfoServiceService } from '../../generated/orderflow/platform/v1/server_info.js';
import { QueryServiceService } from '../../generated/orderflow/query/v1/query_service.js';
import { ShippingServiceService } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { decide, graphqlPolicy, grpcPolicy, grpcClient, type Caller, type Decision, type Rule } from '../../services/platform/index.js';
import { bufCurl } from '../../services/platform/testing/index.js';
import { startGatewaySystem, type GatewayClient, type GatewaySystem, type Identity } from './harness/gateway.js';
import type { ServiceName } from './harness/system.js';

let gs: GatewaySystem;
const roles: { name: string; identity: Identity; caller: Caller }[] = [
  { name: 'anonymous', identity: 'anonymous', caller: { kind: 'anonymous' } },
  { name: 'customer', identity: { customer: 'cus_id_a' }, caller: { kind: 'customer', customerId: 'cus_id_a' } },
  { name: 'admin', identity: 'admin', caller: { kind: 'admin', subject: 'test-admin' } },
];
const clients = new Map<string, GatewayClient>();
let ownOrder = '';
let othersOrder = '';
let cancellable = '';

const placeOrder = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status customer { id } } } }
`;
const orderInput = (customerId: string, idempotencyKey: string) => ({
  customerId,
  customerEmail: `${customerId}@example.com`,
  items: [{ productId: 'ID-TEA', quantity: 1 }],
  shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  paymentToken: 'tok_ok',
  idempotencyKey,
});

beforeAll(async () => {
  gs = await startGatewaySystem();
  for (const role of roles) clients.set(role.name, await gs.as(role.identity));
  await gs.data(`mutation { createProduct(input: { sku: "ID-TEA", name: "Tea", price: { amountMinor: 450, currency: "EUR" }, onHand: 100 }) { sku } }`);
  const asA = clients.get('customer')!;
  const asB = await gs.as({ customer: 'cus_id_b' });
  type Placed = { placeOrder: { order: { id: string } } };
  ownOrder = (await asA.data<Placed>(placeOrder, { input: orderInput('cus_id_a', 'own') })).placeOrder.order.id;
  cancellable = (await asA.data<Placed>(placeOrder, { input: orderInput('cus_id_a', 'to-cancel') })).placeOrder.order.id;
  othersOrder = (await asB.data<Placed>(placeOrder, { input: orderInput('cus_id_b', 'other') })).placeOrder.order.id;
  await gs.system.waitForStatus(ownOrder, OrderStatus.ORDER_STATUS_COMPLETED);
  await gs.system.waitForStatus(othersOrder, OrderStatus.ORDER_STATUS_COMPLETED);
}, 180_000);

afterAll(async () => {
  await gs?.close();
});

/** One operation per entry of the GraphQL table, on the customer's own data where it has an owner. */
const graphqlExamples = (): Record<string, { query: string; variables?: Record<string, unknown> }> => ({
  'Query.product': { query: `{ product(sku: "ID-TEA") { sku } }` },
  'Query.products': { query: `{ products(first: 1) { nodes { sku } } }` },
  'Query.order': { query: `query($id: ID!) { order(id: $id) { id } }`, variables: { id: ownOrder } },
  'Query.orders': { query: `{ orders(customerId: "cus_id_a", first: 5) { nodes { id } } }` },
  'Query.payments': { query: `{ payments(customerId: "cus_id_a") { nodes { id } } }` },
  'Query.notifications': { query: `{ notifications(customerId: "cus_id_a") { nodes { id } } }` },
  'Query.customer': { query: `{ customer(id: "cus_id_a") { id } }` },
  'Query.analytics': { query: `{ analytics { totals { day } } }` },
  'Query.deadLetters': { query: `{ deadLetters(first: 5) { nodes { sequence consumer } pageInfo { hasNextPage } } }` },
  'Mutation.placeOrder': { query: placeOrder, variables: { input: orderInput('cus_id_a', `walk-${Math.random()}`) } },
  'Mutation.cancelOrder': { query: `mutation($id: ID!) { cancelOrder(orderId: $id) { version } }`, variables: { id: cancellable } },
  'Mutation.createProduct': {
    query: `mutation($sku: ID!) { createProduct(input: { sku: $sku, name: "New", price: { amountMinor: 1, currency: "EUR" } }) { sku } }`,
    variables: { sku: `ID-NEW-${Math.random().toString(36).slice(2, 8)}` },
  },
  'Mutation.restock': { query: `mutation { restock(sku: "ID-TEA", quantity: 1) { sku } }` },
  'Mutation.updatePrice': { query: `mutation { updatePrice(sku: "ID-TEA", price: { amountMinor: 450, currency: "EUR" }) { sku } }` },
  'Mutation.dispatchShipment': { query: `mutation($id: ID!) { dispatchShipment(orderId: $id) { status } }`, variables: { id: ownOrder } },
  'Mutation.confirmDelivery': { query: `mutation($id: ID!) { confirmDelivery(orderId: $id) { status } }`, variables: { id: ownOrder } },
  // No dead letter has this sequence or consumer: an admin's call is NOT_FOUND or redrives nothing.
  'Mutation.redriveDeadLetter': { query: `mutation { redriveDeadLetter(sequence: "999999") { deadLetter { sequence } } }` },
  'Mutation.redriveDeadLetters': { query: `mutation { redriveDeadLetters(filter: { consumer: "no-such-consumer" }) { redriven { sequence } } }` },
  // after: "0" replays from the stream's start without looking up the placement (which needs nats-server 2.10).
  'Subscription.orderStatusChanged': { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id, after: "0") { status } }`, variables: { id: ownOrder } },
  'Subscription.orderUpdates': { query: `subscription { orderUpdates(customerId: "cus_id_a", after: "0") { status } }` },
});

const refusedCode: Record<Exclude<Decision, 'allow'>, string> = { unauthenticated: 'UNAUTHENTICATED', forbidden: 'FORBIDDEN' };

/** The first payload or error of a subscription. */
function firstOf(client: Client, request: { query: string; variables?: Record<string, unknown> }): Promise<{ data?: unknown; errors?: { extensions?: { code?: string } }[] }> {
  return new Promise((resolve) => {
    const stop = client.subscribe(request, {
      next: (value) => (stop(), resolve(value as never)),
      error: (err) => resolve({ errors: Array.isArray(err) ? err : [{ extensions: { code: String((err as { code?: unknown })?.code ?? 'SOCKET') } }] }),
      complete: () => resolve({}),
    });
  });
}

async function runAs(client: GatewayClient, entry: string, example: { query: string; variables?: Record<string, unknown> }) {
  if (entry.startsWith('Subscription.')) return firstOf(client.ws(), example);
  return client.gql(example.query, example.variables ?? {});
}

describe('the GraphQL access table, through the gateway', () => {
  const entries = Object.entries(graphqlPolicy)
    .filter(([type]) => type !== 'Entity')
    .flatMap(([type, fields]) => Object.entries(fields as Record<string, Rule>).map(([field, rule]) => ({ entry: `${type}.${field}`, rule })));

  it('has an example for every entry', () => {
    expect(Object.keys(graphqlExamples()).sort()).toEqual(entries.map((e) => e.entry).sort());
  });

  for (const role of roles) {
    it(`allows and refuses each entry for ${role.name} as the table says`, async () => {
      const examples = graphqlExamples();
      const seen: string[] = [];
      for (const { entry, rule } of entries) {
        const answer = await runAs(clients.get(role.name)!, entry, examples[entry]!);
        const codes = (answer.errors ?? []).map((e) => e.extensions?.code);
        const decision = decide(rule, role.caller);
        const refused = codes.find((c) => c === 'UNAUTHENTICATED' || c === 'FORBIDDEN');
        seen.push(`${entry}: ${refused ?? 'allowed'}`);
        expect(refused, `${role.name} ${entry} (${rule}): ${JSON.stringify(answer.errors)}`).toBe(decision === 'allow' ? undefined : refusedCode[decision]);
      }
      expect(seen).toHaveLength(entries.length);
    }, 120_000);
  }
});

/** Every service's definition, to call any method of the gRPC table by its path. */
const definitions: [ServiceName, ServiceDefinition][] = [
  ['orders', OrderServiceService],
  ['inventory', InventoryServiceService],
  ['payments', PaymentServiceService],
  ['shipping', ShippingServiceService],
  ['notifications', NotificationServiceService],
  ['query', QueryServiceService],
  // Every process serves AdminService; the orders process stands for all of them. An empty
  // request lists or is INVALID_ARGUMENT, so an admin's calls change nothing.
  ['orders', AdminServiceService],
];

async function callByPath(path: string, authorization: string | undefined): Promise<status> {
  for (const [service, definition] of definitions) {
    const [method, spec] = Object.entries(definition).find(([, m]) => m.path === path) ?? [];
    if (!method || !spec) continue;
    // An empty request with every field at its default, as a client that sends nothing would.
    const request = spec.requestDeserialize(Buffer.alloc(0));
    const client = grpcClient(definition, gs.system.address(service), { authorization }) as unknown as Record<string, (r: unknown) => Promise<unknown>> & { close(): void };
    try {
      await client[method]!(request);
      return status.OK;
    } catch (err) {
      return (err as ServiceError).code;
    } finally {
      client.close();
    }
  }
  throw new Error(`no service serves ${path}`);
}

describe('the gRPC access table, straight at each service', () => {
  const grpcCode: Record<Exclude<Decision, 'allow'>, status> = { unauthenticated: status.UNAUTHENTICATED, forbidden: status.PERMISSION_DENIED };

  it('covers every method every service serves', () => {
    const served = definitions.flatMap(([, d]) => Object.values(d).map((m) => m.path));
    expect(Object.keys(grpcPolicy).sort()).toEqual(served.sort());
  });

  for (const role of roles) {
    it(`allows and refuses each method for ${role.name} as the table says`, async () => {
      const authorization = clients.get(role.name)!.authorization;
      for (const [path, rule] of Object.entries(grpcPolicy)) {
        const code = await callByPath(path, authorization);
        const decision = decide(rule, role.caller);
        // An allowed call with an empty request may still be INVALID_ARGUMENT or NOT_FOUND; it was not refused.
        if (decision === 'allow') expect([status.UNAUTHENTICATED, status.PERMISSION_DENIED], `${role.name} ${path}`).not.toContain(code);
        else expect(code, `${role.name} ${path}`).toBe(grpcCode[decision]);
      }
    }, 120_000);
  }
});

describe('customers', () => {
  it('see only their own orders; another customer\'s order is NOT_FOUND', async () => {
    const asA = clients.get('customer')!;
    const listed = await asA.data<{ orders: { nodes: { id: string; customer: { id: string } }[] } }>(`{ orders(first: 50) { nodes { id customer { id } } } }`);
    expect(listed.orders.nodes.map((o) => o.id)).toContain(ownOrder);
    expect(new Set(listed.orders.nodes.map((o) => o.customer.id))).toEqual(new Set(['cus_id_a']));

    const others = await asA.gql(`{ orders(customerId: "cus_id_b") { nodes { id } } }`);
    expect(others.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // By id, the order reads exactly as one that does not exist.
    const byId = await asA.gql(`query($id: ID!) { order(id: $id) { id } }`, { id: othersOrder });
    const unknown = await asA.gql(`query($id: ID!) { order(id: $id) { id } }`, { id: 'ord_does_not_exist' });
    expect(byId).toEqual(unknown);
    expect(byId.data).toEqual({ order: null });
    const cancel = await asA.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { version } }`, { id: othersOrder });
    expect(cancel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // Over gRPC with the same token.
    const code = await (async () => {
      const client = grpcClient(OrderServiceService, gs.system.address('orders'), { authorization: asA.authorization });
      try {
        await client.getOrder({ orderId: othersOrder });
        return status.OK;
      } catch (err) {
        return (err as ServiceError).code;
      } finally {
        client.close();
      }
    })();
    expect(code).toBe(status.NOT_FOUND);
  });

  it('cannot follow another customer\'s order or orders over subscriptions', async () => {
    const asA = clients.get('customer')!;
    const order = await firstOf(asA.ws(), { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status } }`, variables: { id: othersOrder } });
    expect(order.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const updates = await firstOf(asA.ws(), { query: `subscription { orderUpdates(customerId: "cus_id_b", after: "0") { status } }` });
    expect(updates.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = await firstOf(asA.ws(), { query: `subscription($id: ID!) { orderStatusChanged(orderId: $id, after: "0") { status order { customer { id } } } }`, variables: { id: ownOrder } });
    expect(own).toEqual({ data: { orderStatusChanged: { status: 'PLACED', order: { customer: { id: 'cus_id_a' } } } } });
  });

  it('place orders only for themselves', async () => {
    const answer = await clients.get('customer')!.gql(placeOrder, { input: orderInput('cus_id_b', 'for-someone-else') });
    expect(answer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('anonymous callers', () => {
  it('read the catalog, and get UNAUTHENTICATED for orders, placeOrder and subscriptions', async () => {
    const anonymous = clients.get('anonymous')!;
    expect((await anonymous.data<{ product: { sku: string } }>(`{ product(sku: "ID-TEA") { sku } }`)).product.sku).toBe('ID-TEA');
    for (const query of [`{ orders { nodes { id } } }`, `mutation { placeOrder(input: { customerId: "x", customerEmail: "x@example.com", items: [], shippingAddress: { recipient: "a", line1: "b", city: "c", postalCode: "1", country: "DE" }, paymentToken: "tok_ok" }) { version } }`]) {
      const answer = await anonymous.gql(query);
      expect(answer.errors?.[0]?.extensions?.code, query).toBe('UNAUTHENTICATED');
      expect(answer.data ?? null).toBeNull();
    }
    const sub = await firstOf(anonymous.ws(), { query: `subscription { orderUpdates(customerId: "cus_id_a") { status } }` });
    expect(sub.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('with a token that does not verify get HTTP 401 UNAUTHENTICATED', async () => {
    const expired = await gs.system.issuer.token({ subject: 'test-admin', roles: ['admin'], expiresIn: '-1m' });
    for (const authorization of ['Bearer not-a-jwt', `Bearer ${expired}`, 'Basic YWRtaW46YWRtaW4=']) {
      const response = await fetch(gs.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: '{ products { nodes { sku } } }' }),
      });
      expect(response.status, authorization.slice(0, 20)).toBe(401);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('going around the gateway', () => {
  it('a subgraph refuses data without a token, _entities included, and any token that does not verify', async () => {
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(gs.system.graphqlUrl('orders'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
    };
    const orders = await post({ query: '{ orders { nodes { id } } }' });
    expect(orders.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const entities = await post({
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id customerEmail } } }',
      variables: { r: [{ __typename: 'Order', id: othersOrder }] },
    });
    expect(entities.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(entities.body)).not.toContain('cus_id_b@example.com');
    const forged = await post({ query: '{ orders { nodes { id } } }' }, { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZXMiOlsiYWRtaW4iXX0.' });
    expect(forged.status).toBe(401);
    // Another customer's order through _entities, with a customer token: nothing.
    const asA = await post(
      { query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id customerEmail } } }', variables: { r: [{ __typename: 'Order', id: othersOrder }] } },
      { authorization: clients.get('customer')!.authorization! },
    );
    expect(asA.body.data).toEqual({ _entities: [null] });
  });

  it('a gRPC call without a token is UNAUTHENTICATED; health, reflection and ServerInfo stay open', async () => {
    expect(await callByPath('/orderflow.orders.v1.OrderService/GetOrder', undefined)).toBe(status.UNAUTHENTICATED);
    expect(await callByPath('/orderflow.shipping.v1.ShippingService/DispatchShipment', undefined)).toBe(status.UNAUTHENTICATED);
    const port = gs.system.grpcPort('orders');
    expect(await bufCurl('--list-services', `http://127.0.0.1:${port}`)).toContain('orderflow.orders.v1.OrderService');
    const info = grpcClient(ServerInfoServiceService, gs.system.address('orders'));
    try {
      expect((await info.getServerInfo({})).service).toBe('orders');
    } finally {
      info.close();
    }
  });
});

it('/healthz shows the subgraphs only to an admin', async () => {
  const health = async (authorization?: string) =>
    (await fetch(`http://127.0.0.1:${gs.gateway.port}/healthz`, { headers: authorization ? { authorization } : {} })).json() as Promise<Record<string, unknown>>;
  expect(await health()).toEqual({ status: 'SERVING' });
  expect(await health(clients.get('customer')!.authorization)).toEqual({ status: 'SERVING' });
  const details = await health(gs.system.adminAuthorization);
  expect(details.status).toBe('SERVING');
  expect(details.subgraphs).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'orders', url: gs.system.graphqlUrl('orders') })]));
});
