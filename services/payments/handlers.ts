// The saga's commands to payments, consumed from PAYMENTS_COMMANDS by the shared durable
// `payments-commands`. Answers are events in the payment's stream, relayed to PAYMENTS_EVENTS.
import {
  Commands,
  dispatch,
  PoisonMessageError,
  route,
  Violations,
  type HandlerContext,
  type MessageHandler,
  type ReceivedMessage,
} from '../platform/index.js';
import type { Handled, Payments } from './payments.js';

/** An order id is the stream and the correlation of the answer; without a usable one there is no answer to give. */
function requireOrderId(orderId: string, received: ReceivedMessage): string {
  try {
    new Violations().text('order_id', orderId).throwIfAny();
    return orderId;
  } catch (err) {
    throw new PoisonMessageError(`${received.metadata.type} on ${received.subject}: ${(err as Error).message}`);
  }
}

/** The message id (the causation of the answer); the stream sequence stands in for a message sent without one. */
const messageIdOf = (received: ReceivedMessage): string => received.metadata.id || `${received.stream}:${received.seq}`;

function logOutcome(context: HandlerContext, command: string, handled: Handled): void {
  if (handled.awaitingCharge) {
    context.logger.info({ command }, 'refund requested while the charge is in flight; the charge will answer it');
  } else if (handled.appended.length === 0) {
    context.logger.info({ command, status: handled.state.status }, 'command answered before; nothing to do');
  } else {
    context.logger.info({ command, answers: handled.appended.map((e) => e.type), status: handled.state.status }, 'command answered');
  }
}

/**
 * The dispatch table of the `payments-commands` consumer. A gateway that fails transiently makes
 * the handler throw, so the message is redelivered with the consumer's backoff; on the last of
 * `maxDeliver` deliveries the charge is answered PaymentFailed instead.
 */
export function paymentCommandHandler(payments: Payments, maxDeliver: number): MessageHandler {
  return dispatch([
    route(Commands.ChargePayment, async (command, received, context) => {
      const handled = await payments.charge({
        orderId: requireOrderId(command.orderId, received),
        customerId: command.customerId,
        amount: command.amount,
        token: command.paymentToken,
        causationId: messageIdOf(received),
        lastDelivery: received.deliveryCount >= maxDeliver,
      });
      logOutcome(context, 'ChargePayment', handled);
    }),
    route(Commands.RefundPayment, async (command, received, context) => {
      const handled = await payments.refund({
        orderId: requireOrderId(command.orderId, received),
        reason: command.reason,
        causationId: messageIdOf(received),
      });
      logOutcome(context, 'RefundPayment', handled);
    }),
  ]);
}
