// The payments subgraph: an order's payment (Order.payment) and a customer's payments. The
// payments of every order in one request are fetched with one BatchGetPayments.
import type DataLoader from 'dataloader';
import { PaymentServiceService, PaymentStatus, type Payment } from '../../generated/orderflow/payments/v1/payments_service.js';
import { batchLoader, connection, enumNames, grpcClient, protoEnum, pageSize, viaGrpc, type SubgraphDefinition } from '../platform/index.js';
import { encodePageToken } from './grpc.js';

const typeDefs = /* GraphQL */ `
  type Query {
    "A customer's payments, newest first."
    payments(customerId: ID!, first: Int = 20, after: String): PaymentConnection!
  }

  type Order @key(fields: "id") {
    id: ID!
    "The order's payment; null until the saga asks for the charge."
    payment: Payment
  }

  enum PaymentStatus {
    ${enumNames(PaymentStatus, 'PAYMENT_STATUS_')}
  }

  type Payment {
    id: ID!
    order: Order!
    customerId: ID!
    status: PaymentStatus!
    amount: Money
    captured: Money
    refunded: Money
    declineReason: String
    "Card gateway attempts made for the charge."
    attempts: Int!
    createdAt: DateTime
    updatedAt: DateTime
  }

  type PaymentConnection {
    edges: [PaymentEdge!]!
    nodes: [Payment!]!
    pageInfo: PageInfo!
  }

  type PaymentEdge {
    cursor: String!
    node: Payment!
  }
`;

type PaymentsClient = ReturnType<typeof grpcClient<typeof PaymentServiceService>>;

export interface PaymentsContext {
  client: PaymentsClient;
  paymentOf: DataLoader<string, Payment | null>;
}

export function paymentsSubgraph(grpcTarget: string): SubgraphDefinition<PaymentsContext> {
  const client = grpcClient(PaymentServiceService, grpcTarget);
  return {
    typeDefs,
    context: () => ({
      client,
      paymentOf: batchLoader(async (orderIds) => (await client.batchGetPayments({ orderIds })).payments, (p) => p.orderId),
    }),
    close: () => client.close(),
    resolvers: {
      PaymentStatus: protoEnum(PaymentStatus, 'PAYMENT_STATUS_'),
      Query: {
        async payments(_: unknown, args: { customerId: string; first: number | null; after?: string | null }, ctx: PaymentsContext) {
          const response = await viaGrpc(
            ctx.client.listPayments({ customerId: args.customerId, pageSize: pageSize(args.first), pageToken: args.after ?? '' }),
            { rename: { page_size: 'first', page_token: 'after' } },
          );
          return connection(
            response.payments,
            (p) => encodePageToken({ createdAt: p.createdAt ?? new Date(0), orderId: p.orderId }),
            response.nextPageToken,
          );
        },
      },
      Order: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        payment: (order: { id: string }, _: unknown, ctx: PaymentsContext) => ctx.paymentOf.load(order.id),
      },
      Payment: {
        id: (p: Payment) => p.paymentId || p.orderId,
        order: (p: Payment) => ({ id: p.orderId }),
        declineReason: (p: Payment) => p.declineReason || null,
      },
    },
  };
}
