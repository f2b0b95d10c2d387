// The notifications subgraph: the e-mails sent about an order (Order.notifications) or to a
// customer. ListNotifications has no batch form, so Order.notifications costs one call per order
// selected; listings of many orders should not select it.
import { GraphQLError } from 'graphql';
import { NotificationServiceService, type Notification } from '../../generated/orderflow/notifications/v1/notifications_service.js';
import { grpcClient, pageSize, viaGrpc, type SubgraphDefinition } from '../platform/index.js';

const typeDefs = /* GraphQL */ `
  type Query {
    "E-mails sent, newest first: those of one customer, or those about one order (give exactly one)."
    notifications(customerId: ID, orderId: ID, first: Int = 20, after: String): NotificationConnection!
  }

  type Order @key(fields: "id") {
    id: ID!
    "E-mails sent about the order, newest first."
    notifications: [Notification!]!
  }

  type Notification {
    id: ID!
    order: Order!
    customerId: ID!
    "The address it was sent to."
    recipient: String!
    subject: String!
    "The event it tells about, e.g. OrderCompleted."
    trigger: String!
    "smtp, or mailbox when written as an .eml file."
    transport: String!
    sentAt: DateTime
  }

  type NotificationConnection {
    nodes: [Notification!]!
    pageInfo: PageInfo!
  }
`;

export interface NotificationsContext {
  client: ReturnType<typeof grpcClient<typeof NotificationServiceService>>;
}

const naming = { rename: { page_size: 'first', page_token: 'after', customer_id: 'customerId', order_id: 'orderId', filter: 'customerId' } };

export function notificationsSubgraph(grpcTarget: string): SubgraphDefinition<NotificationsContext> {
  const client = grpcClient(NotificationServiceService, grpcTarget);
  return {
    typeDefs,
    context: () => ({ client }),
    close: () => client.close(),
    resolvers: {
      Query: {
        async notifications(
          _: unknown,
          args: { customerId?: string | null; orderId?: string | null; first: number | null; after?: string | null },
          ctx: NotificationsContext,
        ) {
          if (args.customerId && args.orderId) {
            throw new GraphQLError('give customerId or orderId, not both', {
              extensions: {
                code: 'BAD_USER_INPUT',
                fieldViolations: [{ field: 'orderId', path: ['orderId'], message: 'cannot be combined with customerId' }],
              },
            });
          }
          const response = await viaGrpc(
            ctx.client.listNotifications({
              ...(args.customerId ? { customerId: args.customerId } : args.orderId ? { orderId: args.orderId } : {}),
              pageSize: pageSize(args.first),
              pageToken: args.after ?? '',
            }),
            naming,
          );
          return {
            nodes: response.notifications,
            pageInfo: { hasNextPage: response.nextPageToken !== '', endCursor: response.nextPageToken || null },
          };
        },
      },
      Order: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        async notifications(order: { id: string }, _: unknown, ctx: NotificationsContext) {
          return (await viaGrpc(ctx.client.listNotifications({ orderId: order.id, pageSize: 100, pageToken: '' }))).notifications;
        },
      },
      Notification: {
        id: (n: Notification) => n.notificationId,
        order: (n: Notification) => ({ id: n.orderId }),
        trigger: (n: Notification) => n.triggerType.split('.').at(-1) ?? n.triggerType,
      },
    },
  };
}
