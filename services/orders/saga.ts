// The order saga as data: each step names its participant, the command that performs it, the
// replies that say it succeeded or failed, the command that undoes it with the reply that confirms
// the undo, and what it sends once the whole saga completed. The decider (decide.ts) knows steps
// only by name and position; this table turns its events into commands and replies into inputs,
// so reordering the saga (SAGA_STEPS) is configuration, not code.
import type { Address, Money, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { Commands, Events, newCommand, type Contract, type MessageOf, type NewMessage } from '../platform/index.js';

export const stepNames = ['reserve_stock', 'charge_payment', 'schedule_shipment'] as const;
export type StepName = (typeof stepNames)[number];

export const isStepName = (name: string): name is StepName => (stepNames as readonly string[]).includes(name);

/** The default plan: stock first, so nothing is charged for an order that cannot be served. */
export const defaultPlan: readonly StepName[] = ['reserve_stock', 'charge_payment', 'schedule_shipment'];

/** What a participant's reply means for the step it answers. */
export type ReplyOutcome =
  | { outcome: 'succeeded' }
  | { outcome: 'failed'; reason: CancellationReason; detail: string }
  | { outcome: 'compensated' };

/** What the commands of a step are built from: the order, its secret token and the cancellation cause. */
export interface StepInput {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  total: Money | undefined;
  address: Address | undefined;
  /** Only present for steps with `usesPaymentToken`. */
  paymentToken: string;
  /** Why the order is being undone; empty when it is not. */
  reason: string;
}

/** A reply contract with what it means; `read` is typed by the contract it was made for. */
export interface ReplySpec {
  contract: Contract<unknown>;
  read(message: unknown): ReplyOutcome;
}

function reply<C extends Contract<unknown>>(contract: C, read: (message: MessageOf<C>) => ReplyOutcome): ReplySpec {
  return { contract, read: read as (message: unknown) => ReplyOutcome };
}

const succeeded = (): ReplyOutcome => ({ outcome: 'succeeded' });
const compensated = (): ReplyOutcome => ({ outcome: 'compensated' });
const failed = (reason: CancellationReason, detail: string): ReplyOutcome => ({ outcome: 'failed', reason, detail });

export interface StepDefinition {
  name: StepName;
  /** The spelling in SAGA_STEPS and in per-step variables, e.g. `reserve-stock`. */
  configName: string;
  participant: 'inventory' | 'payments' | 'shipping';
  /** The order status once this step has succeeded. */
  reached: OrderStatus;
  /** The command needs the card token, kept apart from the events (order_secrets). */
  usesPaymentToken: boolean;
  command(input: StepInput, id: string): NewMessage;
  /** Replies to the command: success or a definitive failure. */
  replies: ReplySpec[];
  compensation: { command(input: StepInput, id: string): NewMessage; replies: ReplySpec[] };
  /** Sent when every step has succeeded (stock is committed, for instance). */
  onCompleted?: (input: StepInput, id: string) => NewMessage;
}

const shortageText = (m: MessageOf<typeof Events.StockReservationFailed>): string => {
  const lines = m.shortages.map((s) => `${s.productId} (requested ${s.requested}, available ${s.available})`);
  // Inventory's reason already names each short product; the list is for a reply without one.
  if (m.reason) return m.reason;
  return lines.length > 0 ? `short: ${lines.join(', ')}` : 'stock could not be reserved';
};

/** Every step the saga knows, by name. */
export const stepDefinitions: Readonly<Record<StepName, StepDefinition>> = {
  reserve_stock: {
    name: 'reserve_stock',
    configName: 'reserve-stock',
    participant: 'inventory',
    reached: OrderStatus.ORDER_STATUS_STOCK_RESERVED,
    usesPaymentToken: false,
    command: (o, id) => newCommand(Commands.ReserveStock, { orderId: o.orderId, items: o.items }, id),
    replies: [
      reply(Events.StockReserved, succeeded),
      reply(Events.StockReservationFailed, (m) => failed(CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK, shortageText(m))),
    ],
    compensation: {
      command: (o, id) => newCommand(Commands.ReleaseStock, { orderId: o.orderId, reason: o.reason }, id),
      replies: [reply(Events.StockReleased, compensated)],
    },
    onCompleted: (o, id) => newCommand(Commands.CommitStock, { orderId: o.orderId }, id),
  },
  charge_payment: {
    name: 'charge_payment',
    configName: 'charge-payment',
    participant: 'payments',
    reached: OrderStatus.ORDER_STATUS_PAYMENT_CAPTURED,
    usesPaymentToken: true,
    command: (o, id) =>
      newCommand(Commands.ChargePayment, { orderId: o.orderId, customerId: o.customerId, amount: o.total, paymentToken: o.paymentToken }, id),
    replies: [
      reply(Events.PaymentCaptured, succeeded),
      reply(Events.PaymentDeclined, (m) => failed(CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED, m.reason || 'payment declined')),
      reply(Events.PaymentFailed, (m) => failed(CancellationReason.CANCELLATION_REASON_PAYMENT_FAILED, m.reason || 'payment failed')),
    ],
    compensation: {
      command: (o, id) => newCommand(Commands.RefundPayment, { orderId: o.orderId, reason: o.reason }, id),
      // A refund of nothing (no capture happened) is as final as a refund.
      replies: [reply(Events.PaymentRefunded, compensated), reply(Events.PaymentRefundSkipped, compensated)],
    },
  },
  schedule_shipment: {
    name: 'schedule_shipment',
    configName: 'schedule-shipment',
    participant: 'shipping',
    reached: OrderStatus.ORDER_STATUS_SHIPMENT_SCHEDULED,
    usesPaymentToken: false,
    command: (o, id) =>
      newCommand(Commands.ScheduleShipment, { orderId: o.orderId, customerId: o.customerId, address: o.address, items: o.items }, id),
    replies: [
      reply(Events.ShipmentScheduled, succeeded),
      reply(Events.ShipmentFailed, (m) => failed(CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED, m.reason || 'shipment failed')),
    ],
    compensation: {
      command: (o, id) => newCommand(Commands.CancelShipment, { orderId: o.orderId, reason: o.reason }, id),
      replies: [reply(Events.ShipmentCancelled, compensated)],
    },
  },
};

/** A reply the saga consumes: which step it answers and what it means. */
export interface ReplyRoute {
  step: StepName;
  spec: ReplySpec;
}

/** Every reply contract of every step, each with its step: the saga's consumers route by it. */
export function replyRoutes(): ReplyRoute[] {
  return stepNames.flatMap((step) => {
    const d = stepDefinitions[step];
    return [...d.replies, ...d.compensation.replies].map((spec) => ({ step, spec }));
  });
}

/** How long the saga waits for each step, and how it spaces re-sent compensations. */
export interface SagaTiming {
  /** Milliseconds a participant has to answer a step's command. */
  deadlineMs: Readonly<Record<StepName, number>>;
  /** Re-sent compensations wait twice as long each time, up to this (never less than the step's deadline). */
  maxRetryDelayMs: number;
}

/** The wait before attempt `attempt` (1-based) of a step's compensation counts as unanswered. */
export function compensationDelayMs(timing: SagaTiming, step: StepName, attempt: number): number {
  const base = timing.deadlineMs[step];
  return Math.min(base * 2 ** Math.min(attempt - 1, 20), Math.max(base, timing.maxRetryDelayMs));
}

/**
 * Reads SAGA_STEPS (`reserve-stock,charge-payment,schedule-shipment`): every step exactly once.
 * Throws an Error naming what is wrong, for the configuration parser to report.
 */
export function parsePlan(names: readonly string[]): StepName[] {
  const byConfigName = new Map(stepNames.map((s) => [stepDefinitions[s].configName, s]));
  const plan = names.map((n) => {
    const step = byConfigName.get(n.trim().toLowerCase().replaceAll('_', '-'));
    if (!step) throw new Error(`unknown step ${JSON.stringify(n)} (steps: ${[...byConfigName.keys()].join(', ')})`);
    return step;
  });
  const missing = stepNames.filter((s) => !plan.includes(s));
  if (missing.length > 0 || plan.length !== stepNames.length) {
    throw new Error(`must list each of ${[...byConfigName.keys()].join(', ')} exactly once`);
  }
  return plan;
}

/** Deterministic command ids: a re-relayed commit is absorbed by JetStream; a re-send has its own id. */
export function commandIdFor(orderId: string, step: StepName, compensation: boolean, attempt: number): string {
  return compensation ? `${orderId}:${step}:compensate:${attempt}` : `${orderId}:${step}:command`;
}
