// The Order aggregate: one per order, event-sourced in the stream `order-<orderId>`. Its events are
// the integration events orders publishes, and they are also the saga's state: which step runs,
// which answered, which are being undone. A restarted service folds the stream and carries on.
import type { Address, Money, PricedItem } from '../../generated/orderflow/common/v1/common.js';
import type { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { eventCodec, Events } from '../platform/index.js';
import { defaultPlan, isStepName, type StepName } from './saga.js';

/** The event stream of one order. */
export const orderStream = (orderId: string): string => `order-${orderId}`;

/** The order's events and their contracts: the codec between decider and event store. */
export const orderCodec = eventCodec({
  OrderPlaced: Events.OrderPlaced,
  OrderStepStarted: Events.OrderStepStarted,
  OrderStepSucceeded: Events.OrderStepSucceeded,
  OrderStepFailed: Events.OrderStepFailed,
  OrderStepTimedOut: Events.OrderStepTimedOut,
  OrderCancellationRequested: Events.OrderCancellationRequested,
  OrderCompensationStarted: Events.OrderCompensationStarted,
  OrderStepCompensated: Events.OrderStepCompensated,
  OrderCompleted: Events.OrderCompleted,
  OrderCancelled: Events.OrderCancelled,
  OrderShipped: Events.OrderShipped,
  OrderDelivered: Events.OrderDelivered,
});

/** An order event as the decider sees it: `{ type: 'OrderPlaced', data: OrderPlaced }`, ... */
export type OrderEvent = ReturnType<typeof orderCodec.fromStored>;

/** Where a started step stands. A timed-out step may still have succeeded late, so it is undone too. */
export type StepState = 'pending' | 'succeeded' | 'failed' | 'timed_out';

export interface Compensation {
  state: 'pending' | 'done';
  /** Commands sent to undo the step (re-sends included). */
  attempt: number;
  /** When the current attempt counts as unanswered. */
  deadline: Date;
}

export interface StepProgress {
  state: StepState;
  startedAt: Date;
  deadline: Date;
  compensation: Compensation | undefined;
}

/** What every placed order carries, whatever its status. */
export interface OrderFacts {
  id: string;
  customerId: string;
  customerEmail: string;
  items: PricedItem[];
  subtotal: Money | undefined;
  total: Money | undefined;
  address: Address | undefined;
  /** The saga's steps for this order, in order, as recorded at placement. */
  plan: StepName[];
  /** Steps whose command was sent; absent ones never started. */
  steps: Partial<Record<StepName, StepProgress>>;
  placedAt: Date;
  updatedAt: Date;
}

export interface Cause {
  reason: CancellationReason;
  detail: string;
}

export type Order =
  | { status: 'none' }
  /** A step's command is out; its answer is awaited. */
  | ({ status: 'running' } & OrderFacts)
  /** Started steps are undone one at a time, in reverse. */
  | ({ status: 'compensating' } & OrderFacts & Cause)
  | ({ status: 'completed' } & OrderFacts)
  | ({ status: 'shipped'; trackingNumber: string } & OrderFacts)
  | ({ status: 'delivered'; trackingNumber: string } & OrderFacts)
  | ({ status: 'cancelled' } & OrderFacts & Cause);

export type PlacedOrder = Exclude<Order, { status: 'none' }>;
export type OrderStatusName = Order['status'];

export const initialState = (): Order => ({ status: 'none' });

// Every event orders writes carries its time; the epoch only stands in for a malformed one.
const at = (d: Date | undefined): Date => d ?? new Date(0);

function withStep(state: PlacedOrder, step: string, change: (p: StepProgress) => StepProgress): PlacedOrder {
  if (!isStepName(step)) return state;
  const current = state.steps[step];
  if (!current) return state;
  return { ...state, steps: { ...state.steps, [step]: change(current) } };
}

/** Folds one event into the state. Events that do not apply leave it unchanged. */
export function evolve(state: Order, event: OrderEvent): Order {
  if (event.type === 'OrderPlaced') {
    if (state.status !== 'none') return state;
    const d = event.data;
    const plan = d.sagaSteps.filter(isStepName);
    return {
      status: 'running',
      id: d.orderId,
      customerId: d.customerId,
      customerEmail: d.customerEmail,
      items: d.items,
      subtotal: d.subtotal,
      total: d.total,
      address: d.shippingAddress,
      plan: plan.length > 0 ? plan : [...defaultPlan],
      steps: {},
      placedAt: at(d.occurredAt),
      updatedAt: at(d.occurredAt),
    };
  }
  if (state.status === 'none') return state;
  const s: PlacedOrder = { ...state, updatedAt: at(event.data.occurredAt) };
  switch (event.type) {
    case 'OrderStepStarted': {
      const { step, compensation, attempt, deadline, occurredAt } = event.data;
      if (!isStepName(step)) return s;
      if (compensation) {
        return withStep(s, step, (p) => ({ ...p, compensation: { state: 'pending', attempt, deadline: at(deadline) } }));
      }
      const started: StepProgress = { state: 'pending', startedAt: at(occurredAt), deadline: at(deadline), compensation: undefined };
      return { ...s, steps: { ...s.steps, [step]: started } };
    }
    case 'OrderStepSucceeded':
      return withStep(s, event.data.step, (p) => ({ ...p, state: 'succeeded' }));
    case 'OrderStepFailed':
      return withStep(s, event.data.step, (p) => ({ ...p, state: 'failed' }));
    case 'OrderStepTimedOut':
      return withStep(s, event.data.step, (p) => ({ ...p, state: 'timed_out' }));
    case 'OrderStepCompensated':
      return withStep(s, event.data.step, (p) => (p.compensation ? { ...p, compensation: { ...p.compensation, state: 'done' } } : p));
    case 'OrderCancellationRequested':
      return s; // the OrderCompensationStarted or OrderCancelled of the same commit moves the status
    case 'OrderCompensationStarted':
      return { ...facts(s), status: 'compensating', reason: event.data.reason, detail: event.data.detail };
    case 'OrderCompleted':
      return { ...facts(s), status: 'completed' };
    case 'OrderCancelled':
      return { ...facts(s), status: 'cancelled', reason: event.data.reason, detail: event.data.detail };
    case 'OrderShipped':
      return { ...facts(s), status: 'shipped', trackingNumber: event.data.trackingNumber };
    case 'OrderDelivered':
      return { ...facts(s), status: 'delivered', trackingNumber: 'trackingNumber' in s ? s.trackingNumber : '' };
    default: {
      const unexpected: never = event;
      throw new Error(`unknown order event ${JSON.stringify(unexpected)}`);
    }
  }
}

/** The facts of a placed order without its status-specific fields. */
export function facts(s: PlacedOrder): OrderFacts {
  return {
    id: s.id,
    customerId: s.customerId,
    customerEmail: s.customerEmail,
    items: s.items,
    subtotal: s.subtotal,
    total: s.total,
    address: s.address,
    plan: s.plan,
    steps: s.steps,
    placedAt: s.placedAt,
    updatedAt: s.updatedAt,
  };
}

/** The step whose command is awaited (running), or whose compensation is (compensating). */
export function currentStep(state: Order): StepName | undefined {
  if (state.status === 'running') return state.plan.find((step) => state.steps[step]?.state === 'pending');
  if (state.status === 'compensating') return [...state.plan].reverse().find((step) => state.steps[step]?.compensation?.state === 'pending');
  return undefined;
}

/**
 * When the saga must look at the order again if no answer arrives: the running step's deadline,
 * or the earliest deadline of a compensation awaited. Undefined when nothing is awaited.
 */
export function nextDeadline(state: Order): Date | undefined {
  if (state.status === 'running') {
    const step = currentStep(state);
    return step ? state.steps[step]?.deadline : undefined;
  }
  if (state.status !== 'compensating') return undefined;
  const pending = state.plan.flatMap((step) => {
    const c = state.steps[step]?.compensation;
    return c?.state === 'pending' ? [c.deadline] : [];
  });
  return pending.length > 0 ? new Date(Math.min(...pending.map((d) => d.getTime()))) : undefined;
}
