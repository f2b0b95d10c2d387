import { describe, it } from 'vitest';
import { AlreadyExistsError, IllegalStateError, NotFoundError } from '../platform/index.js';
import { ReportTooEarlyError } from './decide.js';
import {
  cancel,
  cancelled,
  chargeTimedOut,
  charging,
  check,
  compensating,
  completed,
  declined,
  done,
  failed,
  no,
  ok,
  order,
  orderId,
  placed,
  R,
  reply,
  requested,
  reserving,
  scheduling,
  spec,
  started,
  succeeded,
  t,
  timedOut,
  undoing,
  undoingCharge,
  undone,
  undoneReply,
} from './decide.fixtures.js';
import type { OrderEvent } from './order.js';
import { defaultPlan, type StepName } from './saga.js';

describe('when no order exists', () => {
  it('places it and starts the first step of its plan, with the step deadline', () => {
    spec.given([]).when({ type: 'PlaceOrder', order, plan: [...defaultPlan], now: t(0) }).then(reserving);
  });

  it('starts with the charge when the plan says so, and records the plan', () => {
    const plan: StepName[] = ['charge_payment', 'reserve_stock', 'schedule_shipment'];
    spec.given([]).when({ type: 'PlaceOrder', order, plan, now: t(0) }).then([placed(plan), started('charge_payment', t(0))]);
  });

  it('ignores replies and timers for an order it does not know', () => {
    spec.given([]).when(reply('reserve_stock', ok, t(1))).then([]);
    spec.given([]).when(check(t(9))).then([]);
  });

  it('cannot cancel it', () => {
    spec.given([]).when(cancel(t(1))).thenThrows(NotFoundError);
  });
});

describe('when stock is being reserved', () => {
  it('charges once stock is reserved', () => {
    spec.given(reserving).when(reply('reserve_stock', ok, t(1))).then([succeeded('reserve_stock', t(1)), started('charge_payment', t(1))]);
  });

  it('is cancelled at once when stock is short: nothing was done, nothing to undo', () => {
    const detail = 'short: mug (requested 2, available 1)';
    spec
      .given(reserving)
      .when(reply('reserve_stock', no(R.CANCELLATION_REASON_OUT_OF_STOCK, detail), t(1)))
      .then([failed('reserve_stock', R.CANCELLATION_REASON_OUT_OF_STOCK, detail, t(1)), cancelled(R.CANCELLATION_REASON_OUT_OF_STOCK, detail, t(1))]);
  });

  it('waits until the deadline, then times the step out and releases what may have been reserved', () => {
    spec.given(reserving).when(check(t(0))).then([]);
    spec
      .given(reserving)
      .when(check(t(1)))
      .then([
        timedOut('reserve_stock', t(1)),
        compensating(R.CANCELLATION_REASON_STEP_TIMED_OUT, 'reserve_stock was not answered within 1000 ms', t(1)),
        undoing('reserve_stock', t(1)),
      ]);
  });

  it('accepts a cancellation and undoes the step in flight', () => {
    spec
      .given(reserving)
      .when(cancel(t(1)))
      .then([
        requested('changed my mind', t(1)),
        compensating(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'changed my mind', t(1)),
        undoing('reserve_stock', t(1)),
      ]);
  });

  it('refuses a second placement of the same id', () => {
    spec.given(reserving).when({ type: 'PlaceOrder', order, plan: [...defaultPlan], now: t(1) }).thenThrows(AlreadyExistsError);
  });

  it('retries a carrier report that arrives before the order completed', () => {
    spec.given(reserving).when({ type: 'RecordDispatch', trackingNumber: 'TRK', now: t(1) }).thenThrows(ReportTooEarlyError);
  });
});

describe('when the payment is being charged', () => {
  it('schedules the shipment once captured; a duplicate capture changes nothing', () => {
    spec.given(charging).when(reply('charge_payment', ok, t(2))).then([succeeded('charge_payment', t(2)), started('schedule_shipment', t(2))]);
    spec.given(scheduling).when(reply('charge_payment', ok, t(3))).then([]);
  });

  it('releases the stock when declined, and does not refund a charge that definitively failed', () => {
    spec
      .given(charging)
      .when(reply('charge_payment', declined, t(2)))
      .then([
        failed('charge_payment', R.CANCELLATION_REASON_PAYMENT_DECLINED, 'card declined', t(2)),
        compensating(R.CANCELLATION_REASON_PAYMENT_DECLINED, 'card declined', t(2)),
        undoing('reserve_stock', t(2)),
      ]);
  });

  it('on cancellation undoes the charge in flight first (it may still capture), then the stock', () => {
    spec
      .given(charging)
      .when(cancel(t(2), ''))
      .then([
        requested('cancelled by the customer', t(2)),
        compensating(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'cancelled by the customer', t(2)),
        undoing('charge_payment', t(2)),
      ]);
  });

  it('times out the charge after its own deadline and refunds it, since it may capture late', () => {
    spec.given(charging).when(check(t(2))).then([]);
    spec.given(charging).when(check(t(4))).then(chargeTimedOut.slice(charging.length));
  });
});

describe('when the shipment is being scheduled', () => {
  it('completes once scheduled', () => {
    spec.given(scheduling).when(reply('schedule_shipment', ok, t(3))).then([succeeded('schedule_shipment', t(3)), completed(t(3))]);
  });

  it('undoes in reverse, one at a time: refund, then release, then cancelled', () => {
    const detail = 'country "JP" is not served';
    spec
      .given(scheduling)
      .when(reply('schedule_shipment', no(R.CANCELLATION_REASON_SHIPMENT_FAILED, detail), t(3)))
      .then(undoingCharge.slice(scheduling.length));
    spec.given(undoingCharge).when(reply('charge_payment', undoneReply, t(4))).then([undone('charge_payment', t(4)), undoing('reserve_stock', t(4))]);
    const releasing = [...undoingCharge, undone('charge_payment', t(4)), undoing('reserve_stock', t(4))];
    spec
      .given(releasing)
      .when(reply('reserve_stock', undoneReply, t(5)))
      .then([undone('reserve_stock', t(5)), cancelled(R.CANCELLATION_REASON_SHIPMENT_FAILED, detail, t(5))]);
  });
});

describe('when completed', () => {
  it('cannot be cancelled', () => {
    spec.given(done).when(cancel(t(4))).thenThrows(IllegalStateError, /completed/);
  });

  it('is shipped, then delivered; repeated reports change nothing; a delivery before dispatch is retried', () => {
    const shipped: OrderEvent = { type: 'OrderShipped', data: { orderId, trackingNumber: 'TRK-1', occurredAt: t(5) } };
    const delivered: OrderEvent = { type: 'OrderDelivered', data: { orderId, occurredAt: t(6) } };
    spec.given(done).when({ type: 'RecordDelivery', now: t(5) }).thenThrows(ReportTooEarlyError);
    spec.given(done).when({ type: 'RecordDispatch', trackingNumber: 'TRK-1', now: t(5) }).then([shipped]);
    spec.given([...done, shipped]).when({ type: 'RecordDispatch', trackingNumber: 'TRK-1', now: t(6) }).then([]);
    spec.given([...done, shipped]).when({ type: 'RecordDelivery', now: t(6) }).then([delivered]);
    spec.given([...done, shipped, delivered]).when({ type: 'RecordDelivery', now: t(7) }).then([]);
    spec.given([...done, shipped, delivered]).when(cancel(t(8))).thenThrows(IllegalStateError, /delivered/);
  });

  it('ignores late or duplicate replies', () => {
    spec.given(done).when(reply('schedule_shipment', ok, t(4))).then([]);
    spec.given(done).when(check(t(60))).then([]);
  });
});

describe('the charge-first plan', () => {
  const plan: StepName[] = ['charge_payment', 'reserve_stock', 'schedule_shipment'];
  const chargingFirst = [placed(plan), started('charge_payment', t(0))];
  const reservingSecond = [...chargingFirst, succeeded('charge_payment', t(1)), started('reserve_stock', t(1))];

  it('reserves stock after the capture', () => {
    spec.given(chargingFirst).when(reply('charge_payment', ok, t(1))).then(reservingSecond.slice(chargingFirst.length));
  });

  it('refunds when stock is short (the reservation failed, so only the charge is undone)', () => {
    const detail = 'short: mug (requested 2, available 0)';
    spec
      .given(reservingSecond)
      .when(reply('reserve_stock', no(R.CANCELLATION_REASON_OUT_OF_STOCK, detail), t(2)))
      .then([
        failed('reserve_stock', R.CANCELLATION_REASON_OUT_OF_STOCK, detail, t(2)),
        compensating(R.CANCELLATION_REASON_OUT_OF_STOCK, detail, t(2)),
        undoing('charge_payment', t(2)),
      ]);
  });

  it('is cancelled without undo when the first charge is declined', () => {
    spec
      .given(chargingFirst)
      .when(reply('charge_payment', declined, t(1)))
      .then([failed('charge_payment', R.CANCELLATION_REASON_PAYMENT_DECLINED, 'card declined', t(1)), cancelled(R.CANCELLATION_REASON_PAYMENT_DECLINED, 'card declined', t(1))]);
  });
});
