// The events that send e-mail, consumed from three streams by durables every replica shares.
import { Events, dispatch, route, type MessageHandler } from '../platform/index.js';
import type { Notifications } from './notifications.js';

/** Stream and durable of each consumer; other event types on these streams are acknowledged unread. */
export const notificationStreams = [
  { stream: 'ORDERS_EVENTS', durable: 'notifications-orders' },
  { stream: 'PAYMENTS_EVENTS', durable: 'notifications-payments' },
  { stream: 'SHIPPING_EVENTS', durable: 'notifications-shipping' },
] as const;

export function notificationHandler(notifications: Notifications, now: () => Date): MessageHandler {
  return dispatch(
    [
      route(Events.OrderPlaced, async (e) => {
        await notifications.rememberOrder({
          orderId: e.orderId,
          customerId: e.customerId,
          email: e.customerEmail,
          items: e.items,
          total: e.total ?? { amountMinor: 0, currency: 'EUR' },
        });
        await notifications.notify(e.orderId, { type: 'OrderPlaced' }, now());
      }),
      route(Events.OrderCompleted, (e) => notifications.notify(e.orderId, { type: 'OrderCompleted' }, now())),
      route(Events.OrderCancelled, (e) =>
        notifications.notify(e.orderId, { type: 'OrderCancelled', reason: e.reason }, now()),
      ),
      route(Events.PaymentDeclined, (e) => notifications.notify(e.orderId, { type: 'PaymentDeclined', reason: e.reason }, now())),
      route(Events.ShipmentDispatched, (e) =>
        notifications.notify(e.orderId, { type: 'ShipmentDispatched', trackingNumber: e.trackingNumber }, now()),
      ),
      route(Events.ShipmentDelivered, (e) => notifications.notify(e.orderId, { type: 'ShipmentDelivered' }, now())),
    ],
    { ignore: (type) => type.startsWith('orderflow.') },
  );
}
