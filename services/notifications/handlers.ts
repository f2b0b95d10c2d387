// The events that send e-mail, consumed from three streams by durables every replica shares.
import { Events, dispatch, route, type MessageHandler, type ReceivedMessage } from '../platform/index.js';
import type { Notifications } from './notifications.js';

/** Stream and durable of each consumer; other event types on these streams are acknowledged unread. */
export const notificationStreams = [
  { stream: 'ORDERS_EVENTS', durable: 'notifications-orders' },
  { stream: 'PAYMENTS_EVENTS', durable: 'notifications-payments' },
  { stream: 'SHIPPING_EVENTS', durable: 'notifications-shipping' },
] as const;

/** The message being handled, the same on every redelivery of it: what a send claim names. */
const deliveryOf = (m: ReceivedMessage) => `${m.stream}:${m.seq}`;

export function notificationHandler(notifications: Notifications, now: () => Date): MessageHandler {
  return dispatch(
    [
      route(Events.OrderPlaced, async (e, m) => {
        await notifications.rememberOrder(
          {
            orderId: e.orderId,
            customerId: e.customerId,
            email: e.customerEmail,
            items: e.items,
            total: e.total ?? { amountMinor: 0, currency: 'EUR' },
          },
          deliveryOf(m),
          now(),
        );
        await notifications.notify(e.orderId, { type: 'OrderPlaced' }, now(), deliveryOf(m));
      }),
      route(Events.OrderCompleted, (e, m) => notifications.notify(e.orderId, { type: 'OrderCompleted' }, now(), deliveryOf(m))),
      route(Events.OrderCancelled, (e, m) =>
        notifications.notify(e.orderId, { type: 'OrderCancelled', reason: e.reason }, now(), deliveryOf(m)),
      ),
      route(Events.PaymentDeclined, (e, m) => notifications.notify(e.orderId, { type: 'PaymentDeclined', reason: e.reason }, now(), deliveryOf(m))),
      route(Events.ShipmentDispatched, (e, m) =>
        notifications.notify(e.orderId, { type: 'ShipmentDispatched', trackingNumber: e.trackingNumber }, now(), deliveryOf(m)),
      ),
      route(Events.ShipmentDelivered, (e, m) => notifications.notify(e.orderId, { type: 'ShipmentDelivered' }, now(), deliveryOf(m))),
    ],
    { ignore: (type) => type.startsWith('orderflow.') },
  );
}
