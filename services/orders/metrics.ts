// The saga's metrics: orders placed, how sagas end and why, and how long each step took to answer.
// Observed after an append succeeded, so each decision is counted once whichever replica made it.
import { cancellationReasonToJSON } from '../../generated/orderflow/orders/v1/order.js';
import { counter, histogram } from '../platform/index.js';
import type { Order, OrderEvent } from './order.js';
import { isStepName } from './saga.js';

const placed = counter('orderflow_orders_placed_total', 'Orders placed (a repeated idempotency key is not counted)');
const outcomes = counter(
  'orderflow_saga_outcomes_total',
  'Sagas that ended, by outcome (completed, cancelled) and reason (a CancellationReason; none for completed)',
  ['outcome', 'reason'],
);
const stepDurations = histogram(
  'orderflow_saga_step_duration_seconds',
  "Time from a step's command to its answer or timeout, by step and result (succeeded, failed, timed_out)",
  ['step', 'result'],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
);

const stepResults = { OrderStepSucceeded: 'succeeded', OrderStepFailed: 'failed', OrderStepTimedOut: 'timed_out' } as const;

/** Records what the events appended to an order, starting from `before`, tell of its saga. */
export function observeSaga(before: Order, appended: OrderEvent[]): void {
  for (const event of appended) {
    switch (event.type) {
      case 'OrderPlaced':
        placed.inc();
        break;
      case 'OrderCompleted':
        outcomes.inc({ outcome: 'completed', reason: 'none' });
        break;
      case 'OrderCancelled':
        outcomes.inc({ outcome: 'cancelled', reason: cancellationReasonToJSON(event.data.reason) });
        break;
      case 'OrderStepSucceeded':
      case 'OrderStepFailed':
      case 'OrderStepTimedOut': {
        const { step, occurredAt } = event.data;
        const started = before.status !== 'none' && isStepName(step) ? before.steps[step]?.startedAt : undefined;
        if (started && occurredAt) {
          stepDurations.observe({ step, result: stepResults[event.type] }, Math.max(0, occurredAt.getTime() - started.getTime()) / 1000);
        }
        break;
      }
      default:
        break;
    }
  }
}
