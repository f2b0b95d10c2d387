// The docker compose stack as a user runs it (`npm run test:compose`: `docker compose up --build
// --wait`, then this file, then `docker compose down`): the saga, read-your-writes across the
// query service and an order-status subscription, all through the published gateway only. It
// needs a Docker engine, so it is its own vitest project, not part of `npm test`.
import { createClient } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../services/platform/testing/index.js';

const gateway = process.env.COMPOSE_GATEWAY_URL ?? 'http://localhost:4000/graphql';
// Signed by the stack's issuer (scripts/test-compose.sh: docker compose exec issuer ... token.js).
const tokens = { admin: process.env.COMPOSE_ADMIN_TOKEN, customer: process.env.COMPOSE_CUSTOMER_TOKEN };
if (!tokens.admin || !tokens.customer) throw new Error('COMPOSE_ADMIN_TOKEN and COMPOSE_CUSTOMER_TOKEN must be set (npm run test:compose sets them)');
let n = 0;

async function gql<T>(query: string, variables: Record<string, unknown> = {}, as: keyof typeof tokens = 'customer'): Promise<T> {
  const response = await fetch(gateway, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[as]}` },
    body: JSON.stringify({ query, variables }),
  });
  const answer = (await response.json()) as { data?: T; errors?: unknown[] };
  if (answer.errors?.length || !answer.data) throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors)}`);
  return answer.data;
}

async function placeOrder(sku: string): Promise<{ version: number; order: { id: string } }> {
  n += 1;
  const { placeOrder } = await gql<{ placeOrder: { version: number; order: { id: string } } }>(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { version order { id } } }`,
    {
      input: {
        customerId: 'cus_compose',
        customerEmail: 'compose@example.com',
        items: [{ productId: sku, quantity: 1 }],
        shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
        paymentToken: 'tok_ok',
        idempotencyKey: `compose-${Date.now()}-${n}`,
      },
    },
  );
  return placeOrder;
}

describe('the compose stack, through the gateway', () => {
  const sku = `COMPOSE-${Date.now()}`;

  it('runs the saga to COMPLETED and shows the order in the query service at the version placed', async () => {
    await gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { sku } }`, {
      input: { sku, name: 'Compose tea', price: { amountMinor: 450, currency: 'EUR' }, onHand: 10 },
    }, 'admin');
    const placed = await placeOrder(sku);
    const status = await waitFor(
      'the order to complete',
      async () => {
        const { order } = await gql<{ order: { status: string } }>(`query($id: ID!) { order(id: $id) { status } }`, { id: placed.order.id });
        return order.status === 'COMPLETED' ? order.status : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(status).toBe('COMPLETED');
    // Read-your-writes: the query service answers only once it has caught up to the version.
    const { customer } = await gql<{ customer: { orderCount: number; recentOrders: { id: string }[] } }>(
      `query($id: ID!, $after: ReadAfter) { customer(id: $id, readAfter: $after) { orderCount recentOrders { id } } }`,
      { id: 'cus_compose', after: { orderId: placed.order.id, minVersion: placed.version } },
    );
    expect(customer.recentOrders.map((o) => o.id)).toContain(placed.order.id);
  });

  it('streams an order\'s statuses over a subscription until COMPLETED', async () => {
    const placed = await placeOrder(sku);
    const client = createClient({
      url: gateway.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${tokens.customer}` },
    });
    try {
      const statuses: string[] = [];
      for await (const result of client.iterate<{ orderStatusChanged: { status: string } }>({
        query: `subscription($id: ID!) { orderStatusChanged(orderId: $id, after: "0") { status } }`,
        variables: { id: placed.order.id },
      })) {
        statuses.push(result.data!.orderStatusChanged.status);
        if (statuses.at(-1) === 'COMPLETED') break;
      }
      expect(statuses[0]).toBe('PLACED');
      expect(statuses.at(-1)).toBe('COMPLETED');
    } finally {
      await client.dispose();
    }
  });
});
