// The query subgraph: the Customer entity with its order history, and sales analytics, read from
// the read models; and, for operators, the system's dead letters (platform/admin/subgraph.ts). Orders are returned as Order references, so a client selects any Order field
// and the gateway fetches them from the orders subgraph in one batch. Every query accepts
// `readAfter` (an order id and the version a mutation returned): it waits, bounded, until the
// read model has caught up with that write.
import type { Duration } from '../../generated/google/protobuf/duration.js';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { QueryServiceService, type DailySales, type ReadAfter } from '../../generated/orderflow/query/v1/query_service.js';
import { GraphQLError } from 'graphql';
import {
  connection,
  deadLetterResolvers,
  deadLetterTypeDefs,
  grpcClient,
  protoEnum,
  pageSize,
  viaGrpc,
  type SubgraphDefinition,
} from '../platform/index.js';
import { encodePageToken } from './grpc.js';

const typeDefs = /* GraphQL */ `
  type Query {
    "A customer's order history. Null when the customer has placed no order."
    customer(id: ID!, readAfter: ReadAfter): Customer
    "Sales per day (UTC) between from and to (YYYY-MM-DD, inclusive; default: every day), and their totals."
    analytics(from: String, to: String, readAfter: ReadAfter): SalesAnalytics!
  }

  "Wait until the read model reflects this order at this version (what a mutation returned)."
  input ReadAfter {
    orderId: ID!
    minVersion: Int!
  }

  enum OrderStatus {
    ${Object.keys(protoEnum(OrderStatus, 'ORDER_STATUS_')).join('\n    ')}
  }

  type Customer @key(fields: "id") {
    id: ID!
    email: String!
    orderCount: Int!
    "Money captured for the customer's orders, less refunds."
    totalSpent: Money
    firstOrderAt: DateTime
    lastOrderAt: DateTime
    "The newest orders first."
    recentOrders(limit: Int = 10): [Order!]!
    "Every order of the customer, newest first, optionally by status."
    orders(status: [OrderStatus!], first: Int = 20, after: String): CustomerOrderConnection!
  }

  type Order @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type CustomerOrderConnection {
    edges: [CustomerOrderEdge!]!
    nodes: [Order!]!
    pageInfo: PageInfo!
  }

  type CustomerOrderEdge {
    cursor: String!
    node: Order!
  }

  type SalesAnalytics {
    days: [DailySales!]!
    totals: DailySales!
  }

  type DailySales {
    "YYYY-MM-DD (UTC), or 'total'."
    day: String!
    ordersByStatus: [StatusCount!]!
    revenueCaptured: Money
    revenueRefunded: Money
    averageOrderValue: Money
    cancellationReasons: [ReasonCount!]!
    "Milliseconds from placed to completed, median; null when no order completed."
    placedToCompletedP50Ms: Float
    placedToCompletedP95Ms: Float
  }

  type StatusCount {
    "Named as Order.status names it."
    status: OrderStatus!
    count: Int!
  }

  type ReasonCount {
    reason: String!
    count: Int!
  }
`;

interface ReadAfterArg {
  readAfter?: ReadAfter | null;
}

interface CustomerParent {
  customerId: string;
  readAfter: ReadAfter | undefined;
}

export interface QueryContext {
  client: ReturnType<typeof grpcClient<typeof QueryServiceService>>;
}

const millis = (d: Duration | undefined) => (d && (d.seconds || d.nanos) ? d.seconds * 1000 + d.nanos / 1e6 : null);
const counts = <K extends string>(key: K, map: Record<string, number>) =>
  Object.entries(map)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => ({ [key]: name, count }) as Record<K, string> & { count: number });

export function querySubgraph(grpcTarget: string): SubgraphDefinition<QueryContext> {
  const client = grpcClient(QueryServiceService, grpcTarget);
  // Every process sees every dead letter; this subgraph answers for the whole system.
  const deadLetters = deadLetterResolvers(grpcTarget);
  const readAfterNaming = { rename: { read_after: 'readAfter' } };
  const loadCustomer = async (ctx: QueryContext, customerId: string, readAfter: ReadAfter | undefined) => {
    try {
      const { customer } = await viaGrpc(ctx.client.getCustomer({ customerId, recentOrdersLimit: 0, readAfter }), {
        rename: { ...readAfterNaming.rename, customer_id: 'id' },
      });
      return customer ? { ...customer, readAfter } : null;
    } catch (err) {
      // A customer exists once they have placed an order; before that the answer is null.
      if (err instanceof GraphQLError && err.extensions.code === 'NOT_FOUND') return null;
      throw err;
    }
  };
  return {
    typeDefs: `${typeDefs}\n${deadLetterTypeDefs}`,
    context: () => ({ client }),
    close: () => {
      client.close();
      deadLetters.close();
    },
    resolvers: {
      OrderStatus: protoEnum(OrderStatus, 'ORDER_STATUS_'),
      Query: {
        customer: (_: unknown, args: { id: string } & ReadAfterArg, ctx: QueryContext) =>
          loadCustomer(ctx, args.id, args.readAfter ?? undefined),
        async analytics(_: unknown, args: { from?: string | null; to?: string | null } & ReadAfterArg, ctx: QueryContext) {
          const { analytics } = await viaGrpc(
            ctx.client.getSalesAnalytics({ fromDay: args.from ?? '', toDay: args.to ?? '', readAfter: args.readAfter ?? undefined }),
            { rename: { ...readAfterNaming.rename, from_day: 'from', to_day: 'to' } },
          );
          return analytics;
        },
        ...deadLetters.Query,
      },
      Mutation: deadLetters.Mutation,
      DeadLetter: deadLetters.DeadLetter,
      Customer: {
        __resolveReference: (ref: { id: string }, ctx: QueryContext) => loadCustomer(ctx, ref.id, undefined),
        id: (c: CustomerParent) => c.customerId,
        totalSpent: (c: { totalSpent?: unknown }) => c.totalSpent ?? null,
        async recentOrders(c: CustomerParent, args: { limit: number }, ctx: QueryContext) {
          const { customer } = await viaGrpc(
            ctx.client.getCustomer({ customerId: c.customerId, recentOrdersLimit: args.limit, readAfter: c.readAfter }),
            { rename: { recent_orders_limit: 'limit' } },
          );
          return (customer?.recentOrders ?? []).map((o) => ({ id: o.orderId }));
        },
        async orders(c: CustomerParent, args: { status?: OrderStatus[] | null; first: number | null; after?: string | null }, ctx: QueryContext) {
          const response = await viaGrpc(
            ctx.client.listOrderViews({
              customerId: c.customerId,
              statuses: args.status ?? [],
              pageSize: pageSize(args.first),
              pageToken: args.after ?? '',
              readAfter: c.readAfter,
            }),
            { rename: { statuses: 'status', page_size: 'first', page_token: 'after' } },
          );
          const views = new Map(response.orders.map((o) => [o.orderId, o]));
          const refs = response.orders.map((o) => ({ id: o.orderId }));
          return connection(refs, (ref) => encodePageToken([views.get(ref.id)?.placedAt?.toISOString(), ref.id]), response.nextPageToken);
        },
      },
      DailySales: {
        // The gRPC answer keys statuses by name without prefix; the enum resolver wants values.
        ordersByStatus: (d: DailySales) =>
          counts('status', d.ordersByStatus).map(({ status, count }) => ({ status: OrderStatus[`ORDER_STATUS_${status}` as keyof typeof OrderStatus], count })),
        cancellationReasons: (d: DailySales) => counts('reason', d.cancellationReasons),
        placedToCompletedP50Ms: (d: DailySales) => millis(d.placedToCompletedP50),
        placedToCompletedP95Ms: (d: DailySales) => millis(d.placedToCompletedP95),
      },
    },
  };
}
