import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../services/platform/testing/index.js';
import { startGatewaySystem, type GatewaySystem, type GraphQLAnswer } from './harness/gateway.js';
import { itUnlessServerLacks } from '../../services/platform/testing/ferretdb.js';

// The GraphQL API through the gateway only: batching across subgraphs, errors as clients see
// them, operation limits, read-your-writes on the read side.

let gs: GatewaySystem;
let n = 0;

const placeOrder = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) { version order { id status } }
  }
`;

const orderInput = (overrides: Record<string, unknown> = {}) => {
  n += 1;
  return {
    customerId: 'cus_api',
    customerEmail: 'api@example.com',
    items: [{ productId: 'API-TEA', quantity: 1 }, { productId: 'API-MUG', quantity: 2 }],
    shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    paymentToken: 'tok_ok',
    idempotencyKey: `api-${n}`,
    ...overrides,
  };
};

async function place(overrides: Record<string, unknown> = {}) {
  return (await gs.data<{ placeOrder: { version: number; order: { id: string; status: string } } }>(placeOrder, { input: orderInput(overrides) }))
    .placeOrder;
}

async function waitUntilTerminal(ids: string[], customerId = 'cus_api') {
  await waitFor(
    `${ids.length} orders to end`,
    async () => {
      const { orders } = await gs.data<{ orders: { nodes: { id: string; status: string }[] } }>(
        `query($c: ID!) { orders(customerId: $c, first: 100) { nodes { id status } } }`,
        { c: customerId },
      );
      const open = orders.nodes.filter((o) => ids.includes(o.id) && o.status !== 'COMPLETED' && o.status !== 'CANCELLED');
      return orders.nodes.filter((o) => ids.includes(o.id)).length === ids.length && open.length === 0;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

const codes = (answer: GraphQLAnswer) => answer.errors?.map((e) => e.extensions?.code);

beforeAll(async () => {
  gs = await startGatewaySystem();
  const create = `mutation($input: CreateProductInput!) { createProduct(input: $input) { sku available } }`;
  await gs.data(create, { input: { sku: 'API-TEA', name: 'Tea', price: { amountMinor: 450, currency: 'EUR' }, onHand: 1000 } });
  await gs.data(create, { input: { sku: 'API-MUG', name: 'Mug', price: { amountMinor: 1200, currency: 'EUR' }, onHand: 1000 } });
});

afterAll(async () => {
  await gs?.close();
});

// On FerretDB 50 orders at once outlast the gateway's deadline to orders (see idOnlyIndexes).
const itUnlessIndexed = await itUnlessServerLacks('idOnlyIndexes');

describe('no N+1', () => {
  const listing = /* GraphQL */ `
    query($first: Int!) {
      orders(customerId: "cus_api", first: $first) {
        edges {
          cursor
          node {
            id
            status
            total { amount currency }
            items { quantity product { sku name price { amountMinor } available } }
            payment { status captured { amountMinor } }
            shipment { status carrier }
          }
        }
      }
    }
  `;

  /** The gRPC calls one query costs, by method. */
  async function callsOf(first: number) {
    const before = await gs.grpcCalls();
    const { orders } = await gs.data<{ orders: { edges: { node: Record<string, any> }[] } }>(listing, { first });
    const after = await gs.grpcCalls();
    const delta: Record<string, number> = {};
    for (const [method, count] of Object.entries(after)) if (count !== (before[method] ?? 0)) delta[method] = count - (before[method] ?? 0);
    return { nodes: orders.edges.map((e) => e.node), delta };
  }

  itUnlessIndexed('lists 50 orders with products, payments and shipments in a constant number of gRPC calls', async () => {
    const placed = await Promise.all(Array.from({ length: 50 }, () => place()));
    await waitUntilTerminal(placed.map((p) => p.order.id));

    const fifty = await callsOf(50);
    expect(fifty.nodes).toHaveLength(50);
    for (const node of fifty.nodes) {
      expect(node.status).toBe('COMPLETED');
      expect(node.items.map((i: any) => i.product.name).sort()).toEqual(['Mug', 'Tea']);
      expect(node.payment).toMatchObject({ status: 'CAPTURED', captured: { amountMinor: 450 + 2 * 1200 } });
      expect(node.shipment.status).toBe('SCHEDULED');
    }
    // One call per subgraph the plan visits: the list, then one batch each for products,
    // payments and shipments.
    expect(fifty.delta).toEqual({
      '/orderflow.orders.v1.OrderService/ListOrders': 1,
      '/orderflow.inventory.v1.InventoryService/BatchGetProducts': 1,
      '/orderflow.payments.v1.PaymentService/BatchGetPayments': 1,
      '/orderflow.shipping.v1.ShippingService/BatchGetShipments': 1,
    });
    // The same query for 5 orders costs the same calls.
    const five = await callsOf(5);
    expect(five.nodes).toHaveLength(5);
    expect(five.delta).toEqual(fifty.delta);
  });
});

describe('errors', () => {
  it('answers invalid input with BAD_USER_INPUT naming each field, and writes nothing', async () => {
    const answer = await gs.gql(placeOrder, {
      input: orderInput({
        customerId: 'cus_invalid',
        customerEmail: 'not-an-email',
        items: [{ productId: 'API-TEA', quantity: 0 }, { productId: 'API-NOPE', quantity: 1 }],
      }),
    });
    expect(codes(answer)).toEqual(['BAD_USER_INPUT']);
    const fields = (answer.errors![0]!.extensions!.fieldViolations as { field: string }[]).map((v) => v.field);
    expect(fields).toEqual(expect.arrayContaining(['input.customerEmail', 'input.items[0].quantity']));
    const { orders } = await gs.data<{ orders: { nodes: unknown[] } }>(`{ orders(customerId: "cus_invalid") { nodes { id } } }`);
    expect(orders.nodes).toEqual([]);
  });

  it('maps NOT_FOUND, ALREADY_EXISTS and FAILED_PRECONDITION, and never sends a stack trace', async () => {
    const unknown = await gs.gql(`mutation { cancelOrder(orderId: "ord_missing") { version } }`);
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect((await gs.data<{ order: unknown }>(`{ order(id: "ord_missing") { id } }`)).order).toBeNull();

    const duplicate = await gs.gql(`mutation { createProduct(input: { sku: "API-TEA", name: "Again", price: { amountMinor: 1, currency: "EUR" } }) { sku } }`);
    expect(codes(duplicate)).toEqual(['ALREADY_EXISTS']);

    const placed = await place();
    await waitUntilTerminal([placed.order.id]);
    const late = await gs.gql(`mutation($id: ID!) { cancelOrder(orderId: $id) { version } }`, { id: placed.order.id });
    expect(codes(late)).toEqual(['FAILED_PRECONDITION']);

    for (const answer of [unknown, duplicate, late]) {
      expect(JSON.stringify(answer)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
    }
  });

  it('refuses operations nested too deep or selecting too many fields, before calling any service', async () => {
    const before = await gs.grpcCalls();
    // order → customer → orders → nodes → customer → ... : 4 levels per round, 16 in all.
    const nested = Array.from({ length: 4 }).reduce<string>((inner) => `customer { orders { nodes { id ${inner} } } }`, 'status');
    const deep = await gs.gql(`{ order(id: "x") { ${nested} } }`);
    expect(codes(deep)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(deep.errors![0]!.message).toMatch(/levels deep; the limit is 12/);

    const aliases = Array.from({ length: 501 }, (_, i) => `a${i}: product(sku: "API-TEA") { sku }`).join(' ');
    const wide = await gs.gql(`{ ${aliases} }`);
    expect(codes(wide)).toContain('GRAPHQL_VALIDATION_FAILED');
    expect(wide.errors!.map((e) => e.message)).toContain('the operation selects 1002 fields; the limit is 1000');
    expect(await gs.grpcCalls()).toEqual(before);
  });

  it('tells a subscription sent over HTTP where subscriptions are served', async () => {
    const answer = await gs.gql(`subscription { orderUpdates(customerId: "cus_api") { status } }`);
    expect(answer.errors![0]!.message).toContain(gs.gateway.wsUrl);
  });
});

describe('read-your-writes and the read side', () => {
  it('answers the customer and the analytics as of the version a mutation returned', async () => {
    const customerId = 'cus_ryw';
    const placed = await place({ customerId, customerEmail: 'ryw@example.com' });
    const readAfter = { orderId: placed.order.id, minVersion: placed.version };
    const { customer } = await gs.data<{ customer: { id: string; email: string; orderCount: number; recentOrders: { id: string; status: string }[] } }>(
      `query($id: ID!, $ra: ReadAfter) { customer(id: $id, readAfter: $ra) { id email orderCount recentOrders { id status } } }`,
      { id: customerId, ra: readAfter },
    );
    expect(customer).toMatchObject({ id: customerId, email: 'ryw@example.com', orderCount: 1 });
    // The customer's orders are Order entities: their fields come from the orders subgraph.
    expect(customer.recentOrders.map((o) => o.id)).toEqual([placed.order.id]);

    const { analytics } = await gs.data<{ analytics: { totals: { ordersByStatus: { status: string; count: number }[] } } }>(
      `query($ra: ReadAfter) { analytics(readAfter: $ra) { totals { ordersByStatus { status count } } } }`,
      { ra: readAfter },
    );
    const counted = analytics.totals.ordersByStatus.reduce((sum, s) => sum + s.count, 0);
    expect(counted).toBeGreaterThanOrEqual(1);
    expect(await gs.data(`{ customer(id: "cus_nobody") { id } }`)).toEqual({ customer: null });
  });

  it('lists the e-mails sent about an order', async () => {
    const placed = await place({ customerId: 'cus_mail', customerEmail: 'mail@example.com' });
    const subjects = await waitFor(
      'the order e-mails',
      async () => {
        const { order } = await gs.data<{ order: { notifications: { subject: string; recipient: string; trigger: string }[] } }>(
          `query($id: ID!) { order(id: $id) { notifications { subject recipient trigger } } }`,
          { id: placed.order.id },
        );
        const triggers = order.notifications.map((m) => m.trigger).sort();
        return triggers.includes('OrderCompleted') && triggers.includes('OrderPlaced') ? order.notifications : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    for (const mail of subjects) expect(mail.recipient).toBe('mail@example.com');
    const byCustomer = await gs.data<{ notifications: { nodes: { order: { id: string } }[] } }>(
      `{ notifications(customerId: "cus_mail") { nodes { order { id } } } }`,
    );
    expect(byCustomer.notifications.nodes.every((m) => m.order.id === placed.order.id)).toBe(true);
    const neither = await gs.gql(`{ notifications { nodes { id } } }`);
    expect(codes(neither)).toEqual(['BAD_USER_INPUT']);
    const both = await gs.gql(`{ notifications(customerId: "cus_mail", orderId: "x") { nodes { id } } }`);
    expect(both.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fieldViolations: [{ field: 'orderId' }] });
  });

  it('filters the orders connection by status', async () => {
    const declined = await place({ customerId: 'cus_filter', paymentToken: 'tok_declined' });
    const ok = await place({ customerId: 'cus_filter' });
    await waitUntilTerminal([declined.order.id, ok.order.id], 'cus_filter');
    const byStatus = async (status: string[]) =>
      (await gs.data<{ orders: { nodes: { id: string }[] } }>(`query($s: [OrderStatus!]) { orders(customerId: "cus_filter", status: $s) { nodes { id } } }`, { s: status }))
        .orders.nodes.map((o) => o.id);
    expect(await byStatus(['CANCELLED'])).toEqual([declined.order.id]);
    expect(await byStatus(['COMPLETED'])).toEqual([ok.order.id]);
    expect((await byStatus(['COMPLETED', 'CANCELLED'])).sort()).toEqual([declined.order.id, ok.order.id].sort());
    const invalid = await gs.gql(`{ orders(status: [LOST]) { nodes { id } } }`);
    expect(codes(invalid)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('pages the orders connection with cursors', async () => {
    // Orders of its own, so the pages do not depend on what other tests placed.
    const placed = [];
    for (let i = 0; i < 5; i++) placed.push(await place({ customerId: 'cus_paging' }));
    await waitUntilTerminal(placed.map((p) => p.order.id), 'cus_paging');
    const first = await gs.data<{ orders: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } }>(
      `{ orders(customerId: "cus_paging", first: 3) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(first.orders.pageInfo.hasNextPage).toBe(true);
    const next = await gs.data<{ orders: { edges: { node: { id: string } }[] } }>(
      `query($after: String) { orders(customerId: "cus_paging", first: 3, after: $after) { edges { node { id } } } }`,
      { after: first.orders.pageInfo.endCursor },
    );
    const fromEdge = await gs.data<{ orders: { edges: { node: { id: string } }[] } }>(
      `query($after: String) { orders(customerId: "cus_paging", first: 3, after: $after) { edges { node { id } } } }`,
      { after: first.orders.edges[0]!.cursor },
    );
    const ids = first.orders.edges.map((e) => e.node.id);
    expect(next.orders.edges.map((e) => e.node.id).some((id) => ids.includes(id))).toBe(false);
    expect(fromEdge.orders.edges.map((e) => e.node.id).slice(0, 2)).toEqual(ids.slice(1, 3));
  });
});

describe('tracing', () => {
  it("carries the caller's trace from the GraphQL request to the events the saga publishes", async () => {
    const traceId = randomBytes(16).toString('hex');
    const answer = await gs.gql<{ placeOrder: { order: { id: string } } }>(
      placeOrder,
      { input: orderInput({ customerId: 'cus_trace' }) },
      { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    const orderId = answer.data!.placeOrder.order.id;
    // OrderPlaced was appended by the orders service inside the gRPC call the subgraph made.
    const placed = await gs.system.nats.jsm.streams.getMessage('ORDERS_EVENTS', { last_by_subj: 'orders.events.OrderPlaced' });
    expect(placed?.header.get('Orderflow-Correlation-Id')).toBe(orderId);
    expect(placed?.header.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });
});

describe('the catalog and the rest of the API', () => {
  it('creates, restocks and reprices a product, and pages the catalog', async () => {
    const created = await gs.data<{ createProduct: { sku: string; onHand: number; price: { amount: string } } }>(
      `mutation { createProduct(input: { sku: "API-PEN", name: "Pen", price: { amountMinor: 199, currency: "EUR" }, onHand: 3 }) { sku onHand price { amount } } }`,
    );
    expect(created.createProduct).toEqual({ sku: 'API-PEN', onHand: 3, price: { amount: '1.99' } });
    const restocked = await gs.data<{ restock: { onHand: number; available: number } }>(`mutation { restock(sku: "API-PEN", quantity: 7) { onHand available } }`);
    expect(restocked.restock).toEqual({ onHand: 10, available: 10 });
    const repriced = await gs.data<{ updatePrice: { price: { amountMinor: number; currency: string } } }>(
      `mutation { updatePrice(sku: "API-PEN", price: { amountMinor: 249, currency: "EUR" }) { price { amountMinor currency } } }`,
    );
    expect(repriced.updatePrice.price).toEqual({ amountMinor: 249, currency: 'EUR' });
    expect(await gs.data(`{ product(sku: "API-PEN") { name price { amount } } }`)).toEqual({ product: { name: 'Pen', price: { amount: '2.49' } } });
    expect(await gs.data(`{ product(sku: "API-NONE") { name } }`)).toEqual({ product: null });

    const skus: string[] = [];
    let after: string | null = null;
    do {
      const page: { products: { nodes: { sku: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gs.data(
        `query($after: String) { products(first: 2, after: $after) { nodes { sku } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      skus.push(...page.products.nodes.map((p) => p.sku));
      after = page.products.pageInfo.hasNextPage ? page.products.pageInfo.endCursor : null;
    } while (after);
    expect(skus).toEqual(['API-MUG', 'API-PEN', 'API-TEA']);
  });

  it('names the GraphQL fields of invalid catalog input', async () => {
    const bad = await gs.gql(`mutation { createProduct(input: { sku: "", name: "X", price: { amountMinor: -5, currency: "XXX" } }) { sku } }`);
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    const fields = (bad.errors![0]!.extensions!.fieldViolations as { field: string }[]).map((v) => v.field).sort();
    expect(fields).toEqual(['input.price.amountMinor', 'input.price.currency', 'input.sku']);
    const restock = await gs.gql(`mutation { restock(sku: "API-PEN", quantity: 0) { onHand } }`);
    expect(restock.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fieldViolations: [{ field: 'quantity' }] });
    const unknown = await gs.gql(`mutation { restock(sku: "API-NONE", quantity: 1) { onHand } }`);
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
  });

  it('serves an order with its timeline, a customer\'s orders and payments', async () => {
    const placed = await place({ customerId: 'cus_more', customerEmail: 'more@example.com' });
    await waitUntilTerminal([placed.order.id], 'cus_more');
    const { order } = await gs.data<{ order: { customer: { id: string }; timeline: { type: string }[] } }>(
      `query($id: ID!, $v: Int) { order(id: $id, minVersion: $v) { customer { id } timeline { type } } }`,
      { id: placed.order.id, v: placed.version },
    );
    expect(order.customer.id).toBe('cus_more');
    expect(order.timeline[0]!.type).toBe('orderflow.orders.v1.OrderPlaced');
    const { customer } = await gs.data<{ customer: { orders: { nodes: { id: string; payment: { status: string } | null }[] } } }>(
      `query($ra: ReadAfter) { customer(id: "cus_more", readAfter: $ra) { orders(first: 5) { nodes { id payment { status } } } } }`,
      { ra: { orderId: placed.order.id, minVersion: placed.version } },
    );
    expect(customer.orders.nodes.map((o) => o.id)).toEqual([placed.order.id]);
    const { payments } = await gs.data<{ payments: { nodes: { order: { id: string }; amount: { amountMinor: number } }[] } }>(
      `{ payments(customerId: "cus_more") { nodes { order { id } amount { amountMinor } } } }`,
    );
    expect(payments.nodes).toEqual([{ order: { id: placed.order.id }, amount: { amountMinor: 450 + 2 * 1200 } }]);
  });
});
