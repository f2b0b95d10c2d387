/**
 * Who may do what on NATS, derived from the contracts and from the durables each service runs:
 * a service publishes its own events (and orders, the saga's orchestrator, every command), and
 * works its own durables; query and the gateway also read streams through ordered consumers.
 * `npm run nats:config` prints the resulting permissions and writes the server config.
 */
import { Commands, Events, type NatsGrant } from '../services/platform/index.js';
import { inventoryCommandsConsumer } from '../services/inventory/index.js';
import { notificationStreams } from '../services/notifications/index.js';
import { replyStreams } from '../services/orders/index.js';
import { paymentsCommandsConsumer } from '../services/payments/index.js';
import { projectionConsumers } from '../services/query/index.js';
import { shippingCommandsConsumer } from '../services/shipping/index.js';
import { orderEventsStream } from '../gateway/status-feed.js';

/** The subjects of the events a context publishes, from the contracts. */
const eventsOf = (context: string) => Object.values(Events).filter((e) => e.context === context).map((e) => e.subject);

/** Every command is sent by the order saga, which runs in the orders service. */
const sagaCommands = Object.values(Commands).map((c) => c.subject);

const durables = (list: readonly { stream: string; durable: string }[]) => list.map(({ stream, durable }) => ({ stream, durable }));

/** The grants of every service and the gateway, by user name (= service name). */
export const natsGrants: readonly NatsGrant[] = Object.freeze([
  { user: 'orders', publishes: [...eventsOf('orders'), ...sagaCommands], durables: durables(replyStreams) },
  { user: 'inventory', publishes: eventsOf('inventory'), durables: [{ stream: 'INVENTORY_COMMANDS', durable: inventoryCommandsConsumer }] },
  { user: 'payments', publishes: eventsOf('payments'), durables: [{ stream: 'PAYMENTS_COMMANDS', durable: paymentsCommandsConsumer }] },
  { user: 'shipping', publishes: eventsOf('shipping'), durables: [{ stream: 'SHIPPING_COMMANDS', durable: shippingCommandsConsumer }] },
  { user: 'notifications', publishes: eventsOf('notifications'), durables: durables(notificationStreams) },
  // Rebuilds replay a read model's streams through ordered consumers. Query also answers the
  // operators' dead letters for the whole system (GraphQL deadLetters, redriveDeadLetter(s)).
  {
    user: 'query',
    publishes: [],
    durables: durables(projectionConsumers),
    reads: [...new Set(projectionConsumers.map((c) => c.stream))],
    operatesDeadLetters: true,
  },
  // Subscriptions follow the orders' events through ordered consumers.
  { user: 'gateway', publishes: [], durables: [], reads: [orderEventsStream] },
]);
