// The query subgraph as clients see it, over order views written straight into the read model
// (so the expectations come from the test's own data, not from the production fold): analytics
// name statuses as Order.status does, a last page with edges has an endCursor, and a customer's
// total is in the currency of their orders, never an invented one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { silentLogger } from '../platform/index.js';
import { startNatsServer, type TestNatsServer } from '../platform/testing/index.js';
import type { OrderViewState } from './order-view.js';
import { bootQuery, type QueryService } from './index.js';
import type { OrderViewDocument } from './views.js';

let nats: TestNatsServer;
let query: QueryService;
let dataDir: string;
const placedAt = new Date('2030-04-01T10:00:00.000Z');

function view(orderId: string, customerId: string, status: OrderStatus, fields: Partial<OrderViewState> = {}): OrderViewDocument {
  return {
    _id: orderId,
    orderId,
    customerId,
    customerEmail: `${customerId}@example.com`,
    status,
    items: [],
    subtotal: { amountMinor: 1200, currency: 'CHF' },
    total: { amountMinor: 1200, currency: 'CHF' },
    paymentStatus: '',
    shipmentStatus: '',
    trackingNumber: '',
    cancellationReason: CancellationReason.CANCELLATION_REASON_UNSPECIFIED,
    cancellationDetail: '',
    stepTimes: {},
    version: 3,
    placedAt,
    completedAt: undefined,
    updatedAt: placedAt,
    capturedMinor: 0,
    refundedMinor: 0,
    events: [],
    folded: 0,
    ...fields,
  };
}

async function graphql<T>(query_: string): Promise<T> {
  const response = await fetch(query.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: query_ }) });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

beforeAll(async () => {
  nats = await startNatsServer();
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-query-'));
  query = await bootQuery({ NATS_URL: nats.url, DATA_DIR: dataDir, AUTH_DISABLED: 'true', GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', GRAPHQL_HOST: '127.0.0.1' }, { logger: silentLogger() });
  const views = query.runtime.store.collection<OrderViewDocument>('order_views');
  await views.insertOne(view('ord-q1', 'cus-chf', OrderStatus.ORDER_STATUS_COMPLETED, { capturedMinor: 1200, completedAt: new Date(placedAt.getTime() + 60_000) }));
  await views.insertOne(view('ord-q2', 'cus-chf', OrderStatus.ORDER_STATUS_COMPLETED, { placedAt: new Date(placedAt.getTime() + 1000), capturedMinor: 1200, completedAt: new Date(placedAt.getTime() + 90_000) }));
  await views.insertOne(
    view('ord-q3', 'cus-chf', OrderStatus.ORDER_STATUS_CANCELLED, {
      placedAt: new Date(placedAt.getTime() + 2000),
      cancellationReason: CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED,
    }),
  );
  // An order whose view has not seen OrderPlaced's total yet: no currency anywhere.
  await views.insertOne(view('ord-q4', 'cus-none', OrderStatus.ORDER_STATUS_PLACED, { total: undefined, subtotal: undefined }));
});

afterAll(async () => {
  await query?.close();
  await nats?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('analytics', () => {
  it('names statuses and cancellation reasons as Order.status and Order.cancellationReason do', async () => {
    const { analytics } = await graphql<{ analytics: { totals: { ordersByStatus: { status: string; count: number }[]; cancellationReasons: { reason: string; count: number }[]; revenueCaptured: { amountMinor: number; currency: string } } } }>(
      `{ analytics { totals { ordersByStatus { status count } cancellationReasons { reason count } revenueCaptured { amountMinor currency } } } }`,
    );
    expect(analytics.totals.ordersByStatus).toEqual([
      { status: 'CANCELLED', count: 1 },
      { status: 'COMPLETED', count: 2 },
      { status: 'PLACED', count: 1 },
    ]);
    expect(analytics.totals.cancellationReasons).toEqual([{ reason: 'PAYMENT_DECLINED', count: 1 }]);
    expect(analytics.totals.revenueCaptured).toEqual({ amountMinor: 2400, currency: 'CHF' });
  });
});

describe('a customer', () => {
  it('pages through their orders with an endCursor on every page that has edges, the last one too', async () => {
    type Page = { customer: { orders: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } };
    const pageQuery = (after: string | null) =>
      `{ customer(id: "cus-chf") { orders(first: 2${after ? `, after: ${JSON.stringify(after)}` : ''}) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }`;
    const first = (await graphql<Page>(pageQuery(null))).customer.orders;
    expect(first.edges.map((e) => e.node.id)).toEqual(['ord-q3', 'ord-q2']);
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[1]!.cursor });
    const last = (await graphql<Page>(pageQuery(first.pageInfo.endCursor))).customer.orders;
    expect(last.edges.map((e) => e.node.id)).toEqual(['ord-q1']);
    expect(last.pageInfo).toEqual({ hasNextPage: false, endCursor: last.edges[0]!.cursor });
  });

  it('spends in the currency of their orders, and in none when their orders carry none', async () => {
    const data = await graphql<{ chf: { totalSpent: unknown }; none: { totalSpent: unknown } }>(
      `{ chf: customer(id: "cus-chf") { totalSpent { amountMinor currency } } none: customer(id: "cus-none") { totalSpent { amountMinor currency } } }`,
    );
    expect(data.chf.totalSpent).toEqual({ amountMinor: 2400, currency: 'CHF' });
    expect(data.none.totalSpent).toBeNull();
  });
});
