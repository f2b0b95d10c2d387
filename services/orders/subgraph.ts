// The orders subgraph: the Order entity, its timeline, the orders connection and the placeOrder
// and cancelOrder mutations. Resolvers call the OrderService over gRPC; orders asked for by one
// request (a list, entity references from other subgraphs) are fetched with one BatchGetOrders.
import type DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason, OrderStatus, type Order } from '../../generated/orderflow/orders/v1/order.js';
import { OrderServiceService } from '../../generated/orderflow/orders/v1/orders_service.js';
import { encodePageToken } from './requests.js';
import { batchLoader, connection, enumNames, grpcClient, protoEnum, pageSize, viaGrpc, type SubgraphDefinition } from '../platform/index.js';

const typeDefs = /* GraphQL */ `
  type Query {
    "An order as its event stream has it now. With minVersion, fails unless the order is at least that version."
    order(id: ID!, minVersion: Int): Order
    "Orders, newest first; filtered by customer and by status."
    orders(customerId: ID, status: [OrderStatus!], first: Int = 20, after: String): OrderConnection!
  }

  type Mutation {
    "Places an order and starts its saga. The same idempotencyKey returns the same order."
    placeOrder(input: PlaceOrderInput!): PlaceOrderPayload!
    "Cancels an order that has not completed; its saga compensates what it did."
    cancelOrder(orderId: ID!, reason: String): CancelOrderPayload!
  }

  enum OrderStatus {
    ${enumNames(OrderStatus, 'ORDER_STATUS_')}
  }

  enum CancellationReason {
    ${enumNames(CancellationReason, 'CANCELLATION_REASON_')}
  }

  type Order @key(fields: "id") {
    id: ID!
    customer: Customer!
    customerEmail: String!
    status: OrderStatus!
    items: [OrderLine!]!
    subtotal: Money!
    total: Money!
    shippingAddress: Address!
    cancellationReason: CancellationReason
    cancellationDetail: String
    "The saga step in progress (or being compensated), if any."
    currentStep: String
    trackingNumber: String
    "The order's stream version: pass it as minVersion (or readAfter) to read your own write."
    version: Int!
    createdAt: DateTime!
    updatedAt: DateTime!
    "Every event of the order, oldest first."
    timeline: [OrderTimelineEntry!]!
  }

  type OrderLine {
    product: Product!
    "The product's name when the order was placed."
    name: String!
    quantity: Int!
    unitPrice: Money!
    lineTotal: Money!
  }

  type Product @key(fields: "sku", resolvable: false) {
    sku: ID!
  }

  type Customer @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type OrderTimelineEntry {
    version: Int!
    "The event, e.g. OrderPlaced or OrderStepSucceeded."
    type: String!
    occurredAt: DateTime!
    summary: String!
  }

  type OrderConnection {
    edges: [OrderEdge!]!
    nodes: [Order!]!
    pageInfo: PageInfo!
  }

  type OrderEdge {
    cursor: String!
    node: Order!
  }

  input PlaceOrderInput {
    customerId: ID!
    customerEmail: String!
    items: [OrderItemInput!]!
    shippingAddress: AddressInput!
    "Card token: tok_ok, tok_declined, tok_flaky or tok_timeout with the simulated card gateway."
    paymentToken: String!
    idempotencyKey: String
  }

  input OrderItemInput {
    productId: ID!
    quantity: Int!
  }

  input AddressInput {
    recipient: String!
    line1: String!
    line2: String
    city: String!
    region: String
    postalCode: String!
    "ISO 3166-1 alpha-2 country code."
    country: String!
  }

  type PlaceOrderPayload {
    order: Order!
    "The order's version after placement."
    version: Int!
  }

  type CancelOrderPayload {
    order: Order!
    "The order's version after the cancellation was recorded."
    version: Int!
  }
`;

interface PlaceOrderInput {
  customerId: string;
  customerEmail: string;
  items: { productId: string; quantity: number }[];
  shippingAddress: Partial<Address>;
  paymentToken: string;
  idempotencyKey?: string | null;
}

type OrdersClient = ReturnType<typeof grpcClient<typeof OrderServiceService>>;

export interface OrdersContext {
  orders: DataLoader<string, Order | null>;
  client: OrdersClient;
}

const address = (a: Partial<Address>): Address => ({
  recipient: a.recipient ?? '',
  line1: a.line1 ?? '',
  line2: a.line2 ?? '',
  city: a.city ?? '',
  region: a.region ?? '',
  postalCode: a.postalCode ?? '',
  country: a.country ?? '',
});

const orNull = (text: string) => (text === '' ? null : text);

/** How long `order(minVersion)` waits for a version the order has not reached yet. */
const minVersionWaitMs = 1_000;

/**
 * The order once it reaches `minVersion` (a write still being appended), re-read until
 * `minVersionWaitMs` has passed; then VERSION_NOT_REACHED, saying which version it is at.
 */
async function orderAtVersion(client: OrdersClient, first: Order, minVersion: number): Promise<Order> {
  const deadline = Date.now() + minVersionWaitMs;
  let order = first;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    order = (await viaGrpc(client.getOrder({ orderId: first.id }))).order ?? order;
    if (order.version >= minVersion) return order;
  }
  throw new GraphQLError(
    `order ${JSON.stringify(first.id)} did not reach version ${minVersion} within ${minVersionWaitMs} ms: it is at version ${order.version}`,
    { extensions: { code: 'VERSION_NOT_REACHED', version: order.version, minVersion } },
  );
}

export function ordersSubgraph(grpcTarget: string): SubgraphDefinition<OrdersContext> {
  const client = grpcClient(OrderServiceService, grpcTarget);
  return {
    typeDefs,
    context: () => ({
      client,
      orders: batchLoader(async (orderIds) => (await client.batchGetOrders({ orderIds })).orders, (o) => o.id),
    }),
    close: () => client.close(),
    resolvers: {
      OrderStatus: protoEnum(OrderStatus, 'ORDER_STATUS_'),
      CancellationReason: protoEnum(CancellationReason, 'CANCELLATION_REASON_'),
      Query: {
        async order(_: unknown, args: { id: string; minVersion?: number | null }, ctx: OrdersContext) {
          const order = await ctx.orders.load(args.id);
          if (!order) return null;
          if (!args.minVersion || order.version >= args.minVersion) return order;
          return orderAtVersion(ctx.client, order, args.minVersion);
        },
        async orders(
          _: unknown,
          args: { customerId?: string | null; status?: OrderStatus[] | null; first: number | null; after?: string | null },
          ctx: OrdersContext,
        ) {
          const response = await viaGrpc(
            ctx.client.listOrders({
              customerId: args.customerId ?? '',
              statuses: args.status ?? [],
              pageSize: pageSize(args.first),
              pageToken: args.after ?? '',
            }),
            { rename: { page_size: 'first', page_token: 'after', statuses: 'status', customer_id: 'customerId' } },
          );
          for (const order of response.orders) ctx.orders.prime(order.id, order);
          // An edge's cursor is the service's page token for the position right after it.
          return connection(
            response.orders,
            (order) => encodePageToken({ createdAt: order.createdAt ?? new Date(0), orderId: order.id }),
            response.nextPageToken,
          );
        },
      },
      Mutation: {
        async placeOrder(_: unknown, { input }: { input: PlaceOrderInput }, ctx: OrdersContext) {
          const placed = await viaGrpc(
            ctx.client.placeOrder({
              customerId: input.customerId,
              customerEmail: input.customerEmail,
              items: input.items,
              shippingAddress: address(input.shippingAddress),
              paymentToken: input.paymentToken,
              idempotencyKey: input.idempotencyKey ?? '',
            }),
            // Named here so the message of a reused key names the GraphQL field.
            { argument: 'input', rename: { idempotency_key: 'idempotencyKey' } },
          );
          return { order: placed.order, version: placed.version };
        },
        async cancelOrder(_: unknown, args: { orderId: string; reason?: string | null }, ctx: OrdersContext) {
          const cancelled = await viaGrpc(ctx.client.cancelOrder({ orderId: args.orderId, reason: args.reason ?? '' }));
          return { order: cancelled.order, version: cancelled.version };
        },
      },
      Order: {
        __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.orders.load(ref.id),
        customer: (order: Order) => ({ id: order.customerId }),
        cancellationReason: (order: Order) => (order.cancellationReason > 0 ? order.cancellationReason : null),
        cancellationDetail: (order: Order) => orNull(order.cancellationDetail),
        currentStep: (order: Order) => orNull(order.currentStep),
        trackingNumber: (order: Order) => orNull(order.trackingNumber),
        async timeline(order: Order, _: unknown, ctx: OrdersContext) {
          return (await viaGrpc(ctx.client.getOrderHistory({ orderId: order.id }))).entries;
        },
      },
      OrderLine: {
        product: (line: { productId: string }) => ({ sku: line.productId }),
      },
    },
  };
}
