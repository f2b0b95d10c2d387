// The participants' replies, consumed from INVENTORY_EVENTS, PAYMENTS_EVENTS and SHIPPING_EVENTS
// by the durables `orders-inventory`, `orders-payments`, `orders-shipping` (replicas share them).
// The routes come from the saga table (saga.ts): each reply contract knows its step and meaning.
import {
  Events,
  dispatch,
  maxTextLength,
  PoisonMessageError,
  route,
  type HandlerContext,
  type MessageHandler,
  type ReceivedMessage,
  type Route,
} from '../platform/index.js';
import type { OrderCommand } from './decide.js';
import type { Executed, Orders } from './orders.js';
import { replyRoutes } from './saga.js';

/** The participants the saga hears from, with the stream and durable of each. */
export const replyStreams = [
  { context: 'inventory', stream: 'INVENTORY_EVENTS', durable: 'orders-inventory' },
  { context: 'payments', stream: 'PAYMENTS_EVENTS', durable: 'orders-payments' },
  { context: 'shipping', stream: 'SHIPPING_EVENTS', durable: 'orders-shipping' },
] as const;

/**
 * Replies are retried longer than the platform default (about ten minutes): a reply that fails
 * only because the store is briefly down must not end in DEAD_LETTERS, since participants answer
 * each command once and a re-sent command would not bring the answer back.
 */
export const replyRetry = { maxDeliver: 20, backoffMs: [200, 1_000, 5_000, 15_000, 30_000] };

export type ReplyContext = (typeof replyStreams)[number]['context'];

/** Events on those streams that are not replies to the saga: acknowledged without work. */
const notForTheSaga = new Set<string>([
  Events.ProductCreated.type,
  Events.ProductRestocked.type,
  Events.ProductPriceChanged.type,
  Events.StockCommitted.type, // the answer to CommitStock, sent once the order completed: nothing left to do
]);

/** The order a reply is about: its stream and the correlation of what follows. */
function requireOrderId(message: unknown, received: ReceivedMessage): string {
  const orderId = (message as { orderId?: unknown }).orderId;
  if (typeof orderId !== 'string' || orderId.trim() === '' || orderId.length > maxTextLength) {
    throw new PoisonMessageError(`${received.metadata.type} on ${received.subject} has no usable order_id`);
  }
  return orderId;
}

function logOutcome(context: HandlerContext, input: string, outcome: Executed): void {
  if (outcome.state.status === 'none') {
    context.logger.info({ input }, 'reply for an order this service does not know; ignored');
  } else if (outcome.appended.length === 0) {
    context.logger.info({ input, status: outcome.state.status }, 'reply changes nothing (a duplicate or a late answer already covered)');
  } else {
    context.logger.info({ input, recorded: outcome.appended.map((e) => e.type), status: outcome.state.status }, 'reply recorded');
  }
}

/** The dispatch table of one participant's reply stream; `now` is the clock. */
export function replyHandler(context: ReplyContext, orders: Orders, now: () => Date): MessageHandler {
  const run = async (message: unknown, received: ReceivedMessage, ctx: HandlerContext, command: Exclude<OrderCommand, { type: 'PlaceOrder' | 'CancelOrder' }>) => {
    const orderId = requireOrderId(message, received);
    const outcome = await orders.execute(orderId, command, received.metadata.id ? { causationId: received.metadata.id } : {});
    logOutcome(ctx, received.metadata.type, outcome);
  };
  const routes: Route[] = replyRoutes()
    .filter(({ spec }) => spec.contract.context === context)
    .map(({ step, spec }) =>
      route(spec.contract, (message, received, ctx) => run(message, received, ctx, { type: 'RecordReply', step, reply: spec.read(message), now: now() })),
    );
  if (context === 'shipping') {
    // The carrier's reports after the saga completed.
    routes.push(
      route(Events.ShipmentDispatched, (m, received, ctx) =>
        run(m, received, ctx, { type: 'RecordDispatch', trackingNumber: m.trackingNumber, now: now() }),
      ),
      route(Events.ShipmentDelivered, (m, received, ctx) => run(m, received, ctx, { type: 'RecordDelivery', now: now() })),
    );
  }
  return dispatch(routes, { ignore: (type) => notForTheSaga.has(type) });
}
