// What an order does with each input: placement, the participants' replies, deadlines, the
// customer's cancellation and the carrier's reports. Pure: the clock arrives in every command and
// the deadlines in the timing; commands to participants are derived from the events (orders.ts).
//
// Races are settled by the stream's version order: whichever input is appended first is what
// happened; the other is decided again on the result. A reply that loses to a cancellation or a
// timeout is a late reply: recorded, and undone if the step's undo has already been answered.
import type { Address, PricedItem, Money } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { AlreadyExistsError, IllegalStateError, NotFoundError } from '../platform/index.js';
import { evolve, initialState, type Cause, type Order, type OrderEvent, type PlacedOrder } from './order.js';
import { commandIdFor, compensationDelayMs, type ReplyOutcome, type SagaTiming, type StepName } from './saga.js';

/** A priced order as PlaceOrder accepted it. */
export interface NewOrder {
  orderId: string;
  customerId: string;
  customerEmail: string;
  items: PricedItem[];
  subtotal: Money;
  total: Money;
  address: Address;
}

export type OrderCommand =
  | { type: 'PlaceOrder'; order: NewOrder; plan: StepName[]; now: Date }
  | { type: 'RecordReply'; step: StepName; reply: ReplyOutcome; now: Date }
  /** A timer looked at the order: time out an overdue step, re-send an unanswered compensation. */
  | { type: 'CheckDeadline'; now: Date }
  | { type: 'CancelOrder'; orderId: string; detail: string; now: Date }
  | { type: 'RecordDispatch'; trackingNumber: string; now: Date }
  | { type: 'RecordDelivery'; now: Date };

/**
 * A carrier report arrived before the saga recorded what it follows (ShipmentDispatched before
 * ShipmentScheduled was handled): not poison, just early; the consumer retries it with backoff.
 */
export class ReportTooEarlyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportTooEarlyError';
  }
}

export function orderDecider(timing: SagaTiming) {
  const started = (orderId: string, step: StepName, compensation: boolean, attempt: number, now: Date): OrderEvent => {
    const wait = compensation ? compensationDelayMs(timing, step, attempt) : timing.deadlineMs[step];
    return {
      type: 'OrderStepStarted',
      data: {
        orderId,
        step,
        deadline: new Date(now.getTime() + wait),
        commandId: commandIdFor(orderId, step, compensation, attempt),
        occurredAt: now,
        compensation,
        attempt,
      },
    };
  };

  /** The steps still to undo, next first: started, not definitively failed, not undone yet. */
  const toUndo = (s: PlacedOrder): StepName[] =>
    [...s.plan].reverse().filter((step) => {
      const p = s.steps[step];
      return p !== undefined && p.state !== 'failed' && p.compensation?.state !== 'done';
    });

  /** Sends the next undo, one at a time; when none is left the order is cancelled. */
  const nextUndo = (s: PlacedOrder, cause: Cause, now: Date): OrderEvent[] => {
    const queue = toUndo(s);
    if (queue.some((step) => s.steps[step]?.compensation?.state === 'pending')) return []; // one is awaited
    const [next] = queue;
    if (!next) return [{ type: 'OrderCancelled', data: { orderId: s.id, ...cause, occurredAt: now } }];
    return [started(s.id, next, true, (s.steps[next]?.compensation?.attempt ?? 0) + 1, now)];
  };

  const beginUndo = (s: PlacedOrder, cause: Cause, now: Date): OrderEvent[] => {
    if (toUndo(s).length === 0) return [{ type: 'OrderCancelled', data: { orderId: s.id, ...cause, occurredAt: now } }];
    return [{ type: 'OrderCompensationStarted', data: { orderId: s.id, ...cause, occurredAt: now } }, ...nextUndo(s, cause, now)];
  };

  /** Events, then what follows from the state they lead to. */
  const andThen = (s: PlacedOrder, first: OrderEvent[], next: (after: PlacedOrder) => OrderEvent[]): OrderEvent[] => [
    ...first,
    ...next(first.reduce(evolve, s as Order) as PlacedOrder),
  ];

  const place = (command: Extract<OrderCommand, { type: 'PlaceOrder' }>, state: Order): OrderEvent[] => {
    const { order, plan, now } = command;
    if (state.status !== 'none') throw new AlreadyExistsError('order', order.orderId);
    const [first] = plan;
    if (!first) throw new Error('a saga plan needs at least one step');
    return [
      {
        type: 'OrderPlaced',
        data: {
          orderId: order.orderId,
          customerId: order.customerId,
          customerEmail: order.customerEmail,
          items: order.items,
          subtotal: order.subtotal,
          total: order.total,
          shippingAddress: order.address,
          occurredAt: now,
          sagaSteps: plan,
        },
      },
      started(order.orderId, first, false, 1, now),
    ];
  };

  const succeeded = (s: PlacedOrder, step: StepName, now: Date): OrderEvent[] => {
    const p = s.steps[step];
    if (!p || p.state === 'succeeded') return []; // never asked, or a duplicate reply
    const recorded: OrderEvent = { type: 'OrderStepSucceeded', data: { orderId: s.id, step, occurredAt: now } };
    if (s.status === 'running' && p.state === 'pending') {
      return andThen(s, [recorded], () => {
        const next = s.plan[s.plan.indexOf(step) + 1];
        if (next) return [started(s.id, next, false, 1, now)];
        return [{ type: 'OrderCompleted', data: { orderId: s.id, total: s.total, occurredAt: now } }];
      });
    }
    if (s.status !== 'compensating' && s.status !== 'cancelled') return [];
    // A late success (the step timed out, or the order is being cancelled). If the step's undo is
    // still to come, it will undo this; if it was answered already, undo again: participants
    // answer a repeated command once, so a re-send cannot undo twice.
    const c = p.compensation;
    if (c?.state === 'pending' || (s.status === 'compensating' && c === undefined)) return [recorded];
    return [recorded, started(s.id, step, true, (c?.attempt ?? 0) + 1, now)];
  };

  const failed = (s: PlacedOrder, step: StepName, cause: Cause, now: Date): OrderEvent[] => {
    const p = s.steps[step];
    if (!p || p.state === 'succeeded' || p.state === 'failed') return [];
    const recorded: OrderEvent = { type: 'OrderStepFailed', data: { orderId: s.id, step, ...cause, occurredAt: now } };
    if (s.status === 'running' && p.state === 'pending') return andThen(s, [recorded], (after) => beginUndo(after, cause, now));
    // Late: the order is already being undone for another cause. Recorded; an undo already sent
    // for it is still awaited, so the order's compensation stays in one well-defined sequence.
    return s.status === 'compensating' || s.status === 'cancelled' ? [recorded] : [];
  };

  const compensated = (s: PlacedOrder, step: StepName, now: Date): OrderEvent[] => {
    if (s.steps[step]?.compensation?.state !== 'pending') return []; // a duplicate, or not asked
    const recorded: OrderEvent = { type: 'OrderStepCompensated', data: { orderId: s.id, step, occurredAt: now } };
    if (s.status !== 'compensating') return [recorded];
    return andThen(s, [recorded], (after) => nextUndo(after, { reason: s.reason, detail: s.detail }, now));
  };

  const checkDeadline = (s: PlacedOrder, now: Date): OrderEvent[] => {
    if (s.status === 'running') {
      const step = s.plan.find((name) => s.steps[name]?.state === 'pending');
      const p = step ? s.steps[step] : undefined;
      if (!step || !p || p.deadline.getTime() > now.getTime()) return [];
      const cause: Cause = {
        reason: CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT,
        detail: `${step} was not answered within ${p.deadline.getTime() - p.startedAt.getTime()} ms`,
      };
      const timedOut: OrderEvent = { type: 'OrderStepTimedOut', data: { orderId: s.id, step, occurredAt: now } };
      return andThen(s, [timedOut], (after) => beginUndo(after, cause, now));
    }
    if (s.status !== 'compensating') return [];
    return s.plan.flatMap((step) => {
      const c = s.steps[step]?.compensation;
      return c?.state === 'pending' && c.deadline.getTime() <= now.getTime() ? [started(s.id, step, true, c.attempt + 1, now)] : [];
    });
  };

  const cancel = (command: Extract<OrderCommand, { type: 'CancelOrder' }>, state: Order): OrderEvent[] => {
    const { orderId, now } = command;
    switch (state.status) {
      case 'none':
        throw new NotFoundError('order', orderId);
      case 'running': {
        const detail = command.detail.trim() || 'cancelled by the customer';
        const cause: Cause = { reason: CancellationReason.CANCELLATION_REASON_CUSTOMER_REQUESTED, detail };
        const requested: OrderEvent = { type: 'OrderCancellationRequested', data: { orderId, detail, occurredAt: now } };
        return andThen(state, [requested], (after) => beginUndo(after, cause, now));
      }
      case 'compensating':
        return []; // already being undone: the caller gets the current state
      case 'completed':
      case 'shipped':
      case 'delivered':
      case 'cancelled':
        throw new IllegalStateError(`order ${JSON.stringify(orderId)} is ${state.status} and can no longer be cancelled`);
    }
  };

  const decide = (command: OrderCommand, state: Order): OrderEvent[] => {
    if (command.type === 'PlaceOrder') return place(command, state);
    if (command.type === 'CancelOrder') return cancel(command, state);
    if (state.status === 'none') return []; // a reply or timer for an order that is not ours
    switch (command.type) {
      case 'RecordReply': {
        const { step, reply, now } = command;
        if (reply.outcome === 'succeeded') return succeeded(state, step, now);
        if (reply.outcome === 'failed') return failed(state, step, { reason: reply.reason, detail: reply.detail }, now);
        return compensated(state, step, now);
      }
      case 'CheckDeadline':
        return checkDeadline(state, command.now);
      case 'RecordDispatch':
        if (state.status === 'completed') {
          return [{ type: 'OrderShipped', data: { orderId: state.id, trackingNumber: command.trackingNumber, occurredAt: command.now } }];
        }
        if (state.status === 'running') throw new ReportTooEarlyError(`order ${state.id} is not completed yet`);
        return []; // shipped or delivered already; a cancelled order's parcel is not the order's
      case 'RecordDelivery':
        if (state.status === 'shipped') return [{ type: 'OrderDelivered', data: { orderId: state.id, occurredAt: command.now } }];
        if (state.status === 'running' || state.status === 'completed') throw new ReportTooEarlyError(`order ${state.id} is not shipped yet`);
        return [];
      default: {
        const unexpected: never = command;
        throw new Error(`unknown order command ${JSON.stringify(unexpected)}`);
      }
    }
  };

  return { decide, evolve, initialState };
}

export type OrderDecider = ReturnType<typeof orderDecider>;
