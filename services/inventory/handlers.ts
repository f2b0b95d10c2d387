// The saga's stock commands, consumed from INVENTORY_COMMANDS. Each is answered by exactly one
// event in the order's reservation stream, which the outbox relay publishes on INVENTORY_EVENTS.
import {
  Commands,
  dispatch,
  maxTextLength,
  PoisonMessageError,
  route,
  type HandlerContext,
  type MessageHandler,
  type ReceivedMessage,
} from '../platform/index.js';
import type { StockCommand } from './decide.js';
import type { Executed, Reservations } from './reservations.js';

/** An order id is the stream and the correlation of the reply; without one there is no answer to give. */
function requireOrderId(orderId: string, received: ReceivedMessage): string {
  if (orderId.trim() === '') throw new PoisonMessageError(`${received.metadata.type} without order_id on ${received.subject}`);
  // The id keys the order's holds inside product documents; an absurd one is not an order.
  if (orderId.length > maxTextLength) throw new PoisonMessageError(`${received.metadata.type} with an order_id over ${maxTextLength} characters`);
  return orderId;
}

/** Reports what a command came to, at the level an operator cares about. */
function logOutcome(context: HandlerContext, command: StockCommand, outcome: Executed): void {
  const [answer] = outcome.appended;
  if (!answer) {
    context.logger.info({ command: command.type, status: outcome.state.status }, 'command answered before; nothing to do');
    return;
  }
  const { before } = outcome;
  if (answer.type === 'StockCommitted' && before.status !== 'reserved') {
    // The saga commits only reserved orders; anything else is a fault upstream worth seeing.
    context.logger.warn({ status: before.status }, 'CommitStock without a reservation: answered with no items, stock unchanged');
    return;
  }
  if (answer.type === 'StockReleased' && before.status !== 'reserved') {
    context.logger.info({ status: before.status }, 'ReleaseStock with nothing reserved: answered with no items, stock unchanged');
    return;
  }
  if (answer.type === 'StockReservationFailed') {
    context.logger.info({ reason: answer.data.reason, shortages: answer.data.shortages }, 'reservation refused');
    return;
  }
  context.logger.info({ command: command.type, answer: answer.type, items: answer.data.items }, 'command answered');
}

/** The dispatch table of the `inventory-commands` consumer; `now` is the clock. */
export function inventoryCommandHandler(reservations: Reservations, now: () => Date): MessageHandler {
  const run = async (command: StockCommand, received: ReceivedMessage, context: HandlerContext) => {
    const outcome = await reservations.execute(command, { causationId: received.metadata.id });
    logOutcome(context, command, outcome);
  };
  return dispatch([
    route(Commands.ReserveStock, (c, received, context) =>
      run({ type: 'ReserveStock', orderId: requireOrderId(c.orderId, received), items: c.items, now: now() }, received, context),
    ),
    route(Commands.ReleaseStock, (c, received, context) =>
      run({ type: 'ReleaseStock', orderId: requireOrderId(c.orderId, received), reason: c.reason, now: now() }, received, context),
    ),
    route(Commands.CommitStock, (c, received, context) =>
      run({ type: 'CommitStock', orderId: requireOrderId(c.orderId, received), now: now() }, received, context),
    ),
  ]);
}
