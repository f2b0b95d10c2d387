import { NotificationServiceService, type Notification } from '../../generated/orderflow/notifications/v1/notifications_service.js';
import { implement, mayAccess, scopedCustomer, Violations, type Logger, type ServiceBinding } from '../platform/index.js';
import type { NotificationDocument, Notifications } from './notifications.js';

const maxPageSize = 500;

/** The page token: base64 of the last row's sort key. */
const encodeToken = (doc: NotificationDocument) => Buffer.from(JSON.stringify([doc.sentAt?.toISOString(), doc._id])).toString('base64url');
function decodeToken(token: string): { sentAt: Date; id: string } | undefined {
  try {
    const [sentAt, id] = JSON.parse(Buffer.from(token, 'base64url').toString()) as [string, string];
    const date = new Date(sentAt);
    return typeof id === 'string' && !Number.isNaN(date.getTime()) ? { sentAt: date, id } : undefined;
  } catch {
    return undefined;
  }
}

const toApi = (doc: NotificationDocument): Notification => ({
  notificationId: doc._id,
  orderId: doc.orderId,
  customerId: doc.customerId,
  recipient: doc.recipient,
  subject: doc.subject,
  triggerType: doc.triggerType,
  transport: doc.transport,
  sentAt: doc.sentAt,
});

export function notificationsGrpc(notifications: Notifications, logger: Logger): ServiceBinding {
  return {
    definition: NotificationServiceService,
    implementation: implement(
      NotificationServiceService,
      {
        async listNotifications(request, ctx) {
          const v = new Violations();
          // A customer lists their own; by order, another customer's order has none for them.
          const customerId = request.customerId ? scopedCustomer(ctx.caller, request.customerId) : '';
          const orderId = request.orderId ?? '';
          if (!customerId && !orderId) v.add('filter', 'set customer_id or order_id');
          v.optionalText('customer_id', customerId).optionalText('order_id', orderId);
          v.integer('page_size', request.pageSize, { min: 0, max: maxPageSize });
          const after = request.pageToken ? decodeToken(request.pageToken) : undefined;
          if (request.pageToken && !after) v.add('page_token', 'is not a token this service issued');
          v.throwIfAny();
          const pageSize = request.pageSize || 50;
          const rows = await notifications.list(customerId ? { customerId } : { orderId }, pageSize, after);
          const page = rows.slice(0, pageSize);
          return {
            notifications: page.filter((n) => mayAccess(ctx.caller, n.customerId)).map(toApi),
            nextPageToken: rows.length > pageSize && page.length > 0 ? encodeToken(page.at(-1)!) : '',
          };
        },
      },
      logger,
    ),
  };
}
