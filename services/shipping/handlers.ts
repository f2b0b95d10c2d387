// The saga's commands to shipping, consumed from SHIPPING_COMMANDS. Each is answered by exactly
// one event in the shipment's stream, which the outbox relay publishes on SHIPPING_EVENTS.
import {
  Commands,
  dispatch,
  PoisonMessageError,
  route,
  type HandlerContext,
  type MessageHandler,
  type ReceivedMessage,
} from '../platform/index.js';
import type { Shipments } from './shipments.js';

/** Reports what an appended or repeated command came to, at the levels an operator cares about. */
function logOutcome(context: HandlerContext, command: string, outcome: Awaited<ReturnType<Shipments['execute']>>): void {
  const [event] = outcome.appended;
  if (!event) {
    context.logger.info({ command, status: outcome.state.status }, 'command answered before; nothing to do');
    return;
  }
  const { status } = outcome.state;
  if (event.type === 'ShipmentCancelled' && (status === 'dispatched' || status === 'delivered')) {
    // Dispatched or delivered parcels are left alone: see decide.ts.
    context.logger.warn({ status }, 'CancelShipment arrived after the shipment left; answered was_scheduled=false, shipment unchanged');
    return;
  }
  context.logger.info({ command, answer: event.type, status }, 'command answered');
}

/** An order id is the stream and the correlation of the reply; without one there is no answer to give. */
function requireOrderId(orderId: string, received: ReceivedMessage): string {
  if (orderId.trim() === '') throw new PoisonMessageError(`${received.metadata.type} without order_id on ${received.subject}`);
  return orderId;
}

/** The dispatch table of the `shipping-commands` consumer; `now` is the clock. */
export function shippingCommandHandler(shipments: Shipments, now: () => Date): MessageHandler {
  return dispatch([
    route(Commands.ScheduleShipment, async (command, received, context) => {
      const outcome = await shipments.execute(
        {
          type: 'ScheduleShipment',
          orderId: requireOrderId(command.orderId, received),
          customerId: command.customerId,
          address: command.address,
          items: command.items,
          now: now(),
        },
        { causationId: received.metadata.id },
      );
      logOutcome(context, 'ScheduleShipment', outcome);
    }),
    route(Commands.CancelShipment, async (command, received, context) => {
      const outcome = await shipments.execute(
        { type: 'CancelShipment', orderId: requireOrderId(command.orderId, received), reason: command.reason, now: now() },
        { causationId: received.metadata.id },
      );
      logOutcome(context, 'CancelShipment', outcome);
    }),
  ]);
}
