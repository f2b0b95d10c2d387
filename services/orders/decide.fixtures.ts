// Shared fixtures of the order decider's specifications: a fixed timing and clock, one order,
// builders for its events and inputs, and the histories of an order at each saga stage.
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { deciderSpec } from '../platform/testing/index.js';
import { orderDecider, type NewOrder, type OrderCommand } from './decide.js';
import type { OrderEvent } from './order.js';
import { commandIdFor, defaultPlan, type ReplyOutcome, type SagaTiming, type StepName } from './saga.js';

export const timing: SagaTiming = {
  deadlineMs: { reserve_stock: 1_000, charge_payment: 2_000, schedule_shipment: 3_000 },
  maxRetryDelayMs: 5_000,
};
export const spec = deciderSpec(orderDecider(timing));
export const orderId = 'ord_1';
export const t = (s: number) => new Date(Date.UTC(2030, 0, 1, 10, 0, s));
export const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });
export const R = CancellationReason;

export const order: NewOrder = {
  orderId,
  customerId: 'cus_1',
  customerEmail: 'ada@example.com',
  items: [{ productId: 'mug', name: 'Mug', quantity: 2, unitPrice: eur(1250), lineTotal: eur(2500) }],
  subtotal: eur(2500),
  total: eur(2500),
  address: { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' },
};

// --- events -------------------------------------------------------------------------------
export const placed = (plan: readonly StepName[] = defaultPlan): OrderEvent => ({
  type: 'OrderPlaced',
  data: {
    orderId,
    customerId: order.customerId,
    customerEmail: order.customerEmail,
    items: order.items,
    subtotal: order.subtotal,
    total: order.total,
    shippingAddress: order.address,
    occurredAt: t(0),
    sagaSteps: [...plan],
  },
});
export const started = (step: StepName, at: Date, waitMs = timing.deadlineMs[step]): OrderEvent => ({
  type: 'OrderStepStarted',
  data: { orderId, step, deadline: new Date(at.getTime() + waitMs), commandId: commandIdFor(orderId, step, false, 1), occurredAt: at, compensation: false, attempt: 1 },
});
export const undoing = (step: StepName, at: Date, attempt = 1, waitMs = timing.deadlineMs[step]): OrderEvent => ({
  type: 'OrderStepStarted',
  data: { orderId, step, deadline: new Date(at.getTime() + waitMs), commandId: commandIdFor(orderId, step, true, attempt), occurredAt: at, compensation: true, attempt },
});
export const succeeded = (step: StepName, at: Date): OrderEvent => ({ type: 'OrderStepSucceeded', data: { orderId, step, occurredAt: at } });
export const failed = (step: StepName, reason: CancellationReason, detail: string, at: Date): OrderEvent => ({
  type: 'OrderStepFailed',
  data: { orderId, step, reason, detail, occurredAt: at },
});
export const timedOut = (step: StepName, at: Date): OrderEvent => ({ type: 'OrderStepTimedOut', data: { orderId, step, occurredAt: at } });
export const compensating = (reason: CancellationReason, detail: string, at: Date): OrderEvent => ({
  type: 'OrderCompensationStarted',
  data: { orderId, reason, detail, occurredAt: at },
});
export const undone = (step: StepName, at: Date): OrderEvent => ({ type: 'OrderStepCompensated', data: { orderId, step, occurredAt: at } });
export const cancelled = (reason: CancellationReason, detail: string, at: Date): OrderEvent => ({
  type: 'OrderCancelled',
  data: { orderId, reason, detail, occurredAt: at },
});
export const requested = (detail: string, at: Date): OrderEvent => ({ type: 'OrderCancellationRequested', data: { orderId, detail, occurredAt: at } });
export const completed = (at: Date): OrderEvent => ({ type: 'OrderCompleted', data: { orderId, total: order.total, occurredAt: at } });

// --- commands -----------------------------------------------------------------------------
export const ok: ReplyOutcome = { outcome: 'succeeded' };
export const undoneReply: ReplyOutcome = { outcome: 'compensated' };
export const no = (reason: CancellationReason, detail: string): ReplyOutcome => ({ outcome: 'failed', reason, detail });
export const reply = (step: StepName, r: ReplyOutcome, now: Date): OrderCommand => ({ type: 'RecordReply', step, reply: r, now });
export const check = (now: Date): OrderCommand => ({ type: 'CheckDeadline', now });
export const cancel = (now: Date, detail = 'changed my mind'): OrderCommand => ({ type: 'CancelOrder', orderId, detail, now });

// --- histories ----------------------------------------------------------------------------
export const reserving = [placed(), started('reserve_stock', t(0))];
export const charging = [...reserving, succeeded('reserve_stock', t(1)), started('charge_payment', t(1))];
export const scheduling = [...charging, succeeded('charge_payment', t(2)), started('schedule_shipment', t(2))];
export const done = [...scheduling, succeeded('schedule_shipment', t(3)), completed(t(3))];
export const declined = no(R.CANCELLATION_REASON_PAYMENT_DECLINED, 'card declined');
export const undoingCharge = [
  ...scheduling,
  failed('schedule_shipment', R.CANCELLATION_REASON_SHIPMENT_FAILED, 'country "JP" is not served', t(3)),
  compensating(R.CANCELLATION_REASON_SHIPMENT_FAILED, 'country "JP" is not served', t(3)),
  undoing('charge_payment', t(3)),
];
export const chargeTimedOut = [
  ...charging,
  timedOut('charge_payment', t(4)),
  compensating(R.CANCELLATION_REASON_STEP_TIMED_OUT, 'charge_payment was not answered within 2000 ms', t(4)),
  undoing('charge_payment', t(4)),
];

