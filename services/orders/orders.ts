// Runs order commands against the event store: read the stream, fold, decide, turn the decided
// events into the participants' commands (the saga table), append events and commands in one
// commit at the version read, then refresh the order's view. PlaceOrder, CancelOrder, the three
// reply consumers and the timers all come through here, so every path shares one decider and one
// concurrency rule: a ConcurrencyError means someone else appended first; decide again on it.
import { orderStatusToJSON } from '../../generated/orderflow/orders/v1/order.js';
import {
  ConcurrencyError,
  Header,
  type EventStore,
  type Logger,
  type NewMessage,
  type StoredEvent,
} from '../platform/index.js';
import { orderDecider, type NewOrder, type OrderCommand } from './decide.js';
import { evolve, initialState, nextDeadline, orderCodec, orderStream, type Order, type OrderEvent, type PlacedOrder } from './order.js';
import { observeSaga } from './metrics.js';
import { statusOf, toOrderMessage } from './order-message.js';
import { stepDefinitions, type SagaTiming, type StepInput, type StepName } from './saga.js';
import type { OrderSecrets, OrderViews } from './views.js';

/**
 * How long after placement the timer sweep makes sure an order has its view (and so its timer).
 * Only a crash between the append and the view write needs it; it must outlast any placement in
 * progress, or the sweep would take an order still being appended for a failed one.
 */
export const placementGraceMs = 30_000;

export interface LoadedOrder {
  state: Order;
  /** The stream version the state reflects; 0 when the order does not exist. */
  version: number;
}

/** What a command came to: the state after it and the events it appended (none for a repeat). */
export interface Executed extends LoadedOrder {
  appended: OrderEvent[];
}

export interface OrdersOptions {
  events: EventStore;
  views: OrderViews;
  secrets: OrderSecrets;
  timing: SagaTiming;
  /** The steps new orders run, in order (SAGA_STEPS). */
  plan: StepName[];
  logger: Logger;
  /** Appends lost to concurrent writers before giving up (the caller retries). Default 10. */
  maxAttempts?: number;
}

export interface Orders {
  load(orderId: string): Promise<LoadedOrder>;
  readStream(orderId: string): Promise<StoredEvent[]>;
  /**
   * Stores a new order and starts its saga. When the order id exists already (an idempotency
   * key used before) nothing is written and the existing order is returned with `placed: false`.
   */
  place(order: NewOrder, paymentToken: string, now: Date): Promise<Executed & { placed: boolean }>;
  /** Decides and appends once however often it runs; throws the decider's errors. */
  execute(orderId: string, command: Exclude<OrderCommand, { type: 'PlaceOrder' }>, options?: { causationId?: string }): Promise<Executed>;
  /** Rewrites the order's view from its stream (start-up and sweep repair). */
  refreshView(orderId: string): Promise<LoadedOrder>;
}

export function createOrders(options: OrdersOptions): Orders {
  const { events, views, secrets, timing, plan, logger } = options;
  const decider = orderDecider(timing);
  const maxAttempts = options.maxAttempts ?? 10;

  const load = async (orderId: string): Promise<LoadedOrder> => {
    const stored = await events.readStream(orderStream(orderId));
    const state = stored.map((e) => orderCodec.fromStored(e)).reduce(evolve, initialState());
    return { state, version: stored.at(-1)?.version ?? 0 };
  };

  const saveView = async (state: Order, version: number): Promise<void> => {
    if (state.status === 'none') return;
    await views.save(toOrderMessage(state, version), nextDeadline(state));
  };

  /** The steps whose command needs the card token and is sent by these events. */
  const needsToken = (decided: OrderEvent[]): boolean =>
    decided.some((e) => e.type === 'OrderStepStarted' && !e.data.compensation && stepDefinitions[e.data.step as StepName]?.usesPaymentToken);

  /** The commands the decided events send, built from the state they lead to. */
  const commandsFor = (decided: OrderEvent[], after: PlacedOrder, paymentToken: string): NewMessage[] => {
    const input: StepInput = {
      orderId: after.id,
      customerId: after.customerId,
      items: after.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
      total: after.total,
      address: after.address,
      paymentToken,
      reason: after.status === 'compensating' || after.status === 'cancelled' ? after.detail : '',
    };
    return decided.flatMap((e): NewMessage[] => {
      if (e.type === 'OrderStepStarted') {
        const step = stepDefinitions[e.data.step as StepName];
        if (e.data.compensation) return [step.compensation.command(input, e.data.commandId)];
        // The card token at rest: it lives in order_secrets only until this command is in the
        // outbox (afterAppend forgets it), and the outbox copy is blanked by the relay once
        // published (`sensitive`). So after the charge it stays nowhere in this service's store;
        // the broker holds the command only for the commands stream's retention.
        return [{ ...step.command(input, e.data.commandId), ...(step.usesPaymentToken ? { sensitive: true } : {}) }];
      }
      if (e.type === 'OrderCompleted') {
        return after.plan.flatMap((name) => stepDefinitions[name].onCompleted?.(input, `${after.id}:${name}:completed`) ?? []);
      }
      return [];
    });
  };

  /**
   * Appends at `version`; event ids `<orderId>@<version>` are stable, so a re-relay is a duplicate.
   * Each event carries the customer id, and the new status when it changed the order's, so live
   * status subscriptions read both from headers without folding the stream.
   */
  const append = async (
    orderId: string,
    before: Order,
    version: number,
    decided: OrderEvent[],
    messages: NewMessage[],
    now: Date,
    causationId?: string,
  ) => {
    let state = before;
    const newEvents = decided.map((e, i) => {
      const previous = statusOf(state);
      state = evolve(state, e);
      const status = statusOf(state);
      const headers: Record<string, string> = {};
      if (state.status !== 'none') headers[Header.CustomerId] = state.customerId;
      if (status !== previous) headers[Header.OrderStatus] = orderStatusToJSON(status);
      return { ...orderCodec.toNew(e, `${orderId}@${version + i + 1}`), headers };
    });
    const appendOptions = { correlationId: orderId, now, messages, ...(causationId ? { causationId } : {}) };
    return events.append(orderStream(orderId), version, newEvents, appendOptions);
  };

  const afterAppend = async (orderId: string, decided: OrderEvent[], after: Order, version: number): Promise<void> => {
    await saveView(after, version);
    // The charge command is in the outbox now, or the order ended without one: the token is not
    // needed again.
    if (needsToken(decided) || after.status === 'cancelled') await secrets.forgetToken(orderId);
  };

  return {
    load,
    readStream: (orderId) => events.readStream(orderStream(orderId)),

    async place(order, paymentToken, now) {
      const decided = decider.decide({ type: 'PlaceOrder', order, plan, now }, initialState());
      const after = decided.reduce(evolve, initialState()) as PlacedOrder;
      // Written before the events: a restarted saga finds the token, the sweep finds the order.
      await secrets.put(order.orderId, paymentToken, new Date(now.getTime() + placementGraceMs));
      try {
        const result = await append(order.orderId, initialState(), 0, decided, commandsFor(decided, after, paymentToken), now);
        observeSaga(initialState(), decided);
        await afterAppend(order.orderId, decided, after, result.version);
        return { state: after, version: result.version, appended: decided, placed: true };
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        return { ...(await load(order.orderId)), appended: [], placed: false };
      }
    },

    async execute(orderId, command, { causationId } = {}) {
      for (let attempt = 1; ; attempt++) {
        const { state, version } = await load(orderId);
        const decided = decider.decide(command, state);
        if (decided.length === 0) return { state, version, appended: [] };
        const after = decided.reduce(evolve, state) as PlacedOrder;
        const token = needsToken(decided) ? await secrets.paymentToken(orderId) : '';
        if (token === undefined) logger.error({ orderId }, 'the card token of the order is gone; the charge will be declined');
        try {
          const result = await append(orderId, state, version, decided, commandsFor(decided, after, token ?? ''), command.now, causationId);
          observeSaga(state, decided);
          await afterAppend(orderId, decided, after, result.version);
          return { state: after, version: result.version, appended: decided };
        } catch (err) {
          if (!(err instanceof ConcurrencyError) || attempt >= maxAttempts) throw err;
          logger.debug({ orderId, attempt, command: command.type }, 'lost an append race; deciding again');
        }
      }
    },

    async refreshView(orderId) {
      const loaded = await load(orderId);
      await saveView(loaded.state, loaded.version);
      return loaded;
    },
  };
}
