import { decodeMessage, type Contract } from '../contracts.js';
import { PoisonMessageError, type HandlerContext, type MessageHandler, type ReceivedMessage } from './consumer.js';

/** A handler for one message type, given the decoded message. */
export type TypedHandler<T> = (message: T, received: ReceivedMessage, context: HandlerContext) => Promise<void>;

/** One entry of a dispatch table: a contract and its handler. */
export interface Route<T = unknown> {
  contract: Contract<T>;
  handle: TypedHandler<T>;
}

/** Pairs a contract with its handler, keeping the message type. */
export function route<T>(contract: Contract<T>, handle: TypedHandler<T>): Route {
  return { contract, handle } as Route;
}

/**
 * A consumer handler that decodes each message by its type header and calls its route. A message
 * whose type has no route, whose type header disagrees with its subject, or whose payload does
 * not decode is poison: it goes to the dead-letter stream at once, and the consumer moves on.
 * The table's subjects are the handler's `subjects`: on nats-server 2.10+ its consumer filters
 * on them, so other types are not delivered at all; on 2.9 they arrive, and types listed in
 * `ignore` are acknowledged without work.
 */
export function dispatch(routes: Route[], options: { ignore?: (type: string) => boolean } = {}): MessageHandler {
  const byType = new Map(routes.map((r) => [r.contract.type, r]));
  const handle = async (received: ReceivedMessage, context: HandlerContext) => {
    const { type } = received.metadata;
    const found = byType.get(type);
    if (!found) {
      if (type && options.ignore?.(type)) return;
      throw new PoisonMessageError(`no handler for message type ${JSON.stringify(type)} on ${received.subject}`);
    }
    if (found.contract.subject !== received.subject) {
      throw new PoisonMessageError(`message type ${type} arrived on ${received.subject}, expected ${found.contract.subject}`);
    }
    await found.handle(decodeMessage(found.contract, received.data), received, context);
  };
  return Object.assign(handle, { subjects: routes.map((r) => r.contract.subject) });
}
