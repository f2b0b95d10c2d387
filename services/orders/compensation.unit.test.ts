// The order decider while undoing: compensation one step at a time, re-sends, late and duplicate
// replies, and races between a cancellation and a reply.
import { describe, expect, it } from 'vitest';
import { IllegalStateError } from '../platform/index.js';
import {
  cancel,
  cancelled,
  chargeTimedOut,
  charging,
  check,
  compensating,
  declined,
  failed,
  ok,
  R,
  reply,
  requested,
  reserving,
  spec,
  started,
  succeeded,
  t,
  undoing,
  undoingCharge,
  undone,
  undoneReply,
} from './decide.fixtures.js';

describe('when compensating', () => {
  it('answers a second cancellation with the current state', () => {
    spec.given(undoingCharge).when(cancel(t(4))).then([]);
  });

  it('ignores a duplicate undo reply and an undo reply for a step whose undo was not sent yet', () => {
    const releasing = [...undoingCharge, undone('charge_payment', t(4)), undoing('reserve_stock', t(4))];
    spec.given(releasing).when(reply('charge_payment', undoneReply, t(5))).then([]);
    spec.given(undoingCharge).when(reply('reserve_stock', undoneReply, t(4))).then([]);
  });

  it('re-sends an unanswered undo after its deadline, waiting twice as long each time up to the cap', () => {
    spec.given(undoingCharge).when(check(t(4))).then([]);
    spec.given(undoingCharge).when(check(t(5))).then([undoing('charge_payment', t(5), 2, 4_000)]);
    spec.given([...undoingCharge, undoing('charge_payment', t(5), 2, 4_000)]).when(check(t(9))).then([undoing('charge_payment', t(9), 3, 5_000)]);
  });

  it('records a late capture of a timed-out charge; the refund already on its way undoes it', () => {
    spec.given(chargeTimedOut).when(reply('charge_payment', ok, t(5))).then([succeeded('charge_payment', t(5))]);
    const captured = [...chargeTimedOut, succeeded('charge_payment', t(5))];
    spec.given(captured).when(reply('charge_payment', undoneReply, t(6))).then([undone('charge_payment', t(6)), undoing('reserve_stock', t(6))]);
  });

  it('records a late decline without changing the cause; the refund sent is still awaited', () => {
    spec
      .given(chargeTimedOut)
      .when(reply('charge_payment', declined, t(5)))
      .then([failed('charge_payment', R.CANCELLATION_REASON_PAYMENT_DECLINED, 'card declined', t(5))]);
  });

  it('undoes again a step whose undo was answered before its late success arrived', () => {
    const refunded = [...chargeTimedOut, undone('charge_payment', t(5)), undoing('reserve_stock', t(5))];
    spec.given(refunded).when(reply('charge_payment', ok, t(6))).then([succeeded('charge_payment', t(6)), undoing('charge_payment', t(6), 2, 4_000)]);
  });
});

describe('races between a cancellation and a reply (the stream version decides)', () => {
  it('reply first: the step counts as done and the next step in flight is undone first', () => {
    spec.given(reserving).when(reply('reserve_stock', ok, t(1))).then([succeeded('reserve_stock', t(1)), started('charge_payment', t(1))]);
    spec.given(charging).when(cancel(t(1))).then([
      requested('changed my mind', t(1)),
      compensating(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'changed my mind', t(1)),
      undoing('charge_payment', t(1)),
    ]);
  });

  it('cancellation first: the late reservation is recorded and the release already sent undoes it', () => {
    const cancelling = [
      ...reserving,
      requested('changed my mind', t(1)),
      compensating(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'changed my mind', t(1)),
      undoing('reserve_stock', t(1)),
    ];
    spec.given(cancelling).when(reply('reserve_stock', ok, t(1))).then([succeeded('reserve_stock', t(1))]);
    spec
      .given([...cancelling, succeeded('reserve_stock', t(1))])
      .when(reply('reserve_stock', undoneReply, t(2)))
      .then([undone('reserve_stock', t(2)), cancelled(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'changed my mind', t(2))]);
  });
});

describe('when cancelled', () => {
  const cancelledOrder = [
    ...chargeTimedOut,
    undone('charge_payment', t(5)),
    undoing('reserve_stock', t(5)),
    undone('reserve_stock', t(6)),
    cancelled(R.CANCELLATION_REASON_STEP_TIMED_OUT, 'charge_payment was not answered within 2000 ms', t(6)),
  ];

  it('refuses another cancellation', () => {
    spec.given(cancelledOrder).when(cancel(t(7))).thenThrows(IllegalStateError, /cancelled and can no longer be cancelled/);
  });

  it('releases a reservation that arrives after the cancellation; a repeated one is a duplicate', () => {
    const cancelledWhileReserving = [
      ...reserving,
      requested('changed my mind', t(1)),
      compensating(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'changed my mind', t(1)),
      undoing('reserve_stock', t(1)),
      undone('reserve_stock', t(2)),
      cancelled(R.CANCELLATION_REASON_CUSTOMER_REQUESTED, 'changed my mind', t(2)),
    ];
    const late = [succeeded('reserve_stock', t(3)), undoing('reserve_stock', t(3), 2, 2_000)];
    spec.given(cancelledWhileReserving).when(reply('reserve_stock', ok, t(3))).then(late);
    spec.given([...cancelledWhileReserving, ...late]).when(reply('reserve_stock', ok, t(4))).then([]);
    spec.given([...cancelledWhileReserving, ...late]).when(reply('reserve_stock', undoneReply, t(4))).then([undone('reserve_stock', t(4))]);
  });

  it('refunds a capture that arrives after the cancellation', () => {
    spec.given(cancelledOrder).when(reply('charge_payment', ok, t(7))).then([succeeded('charge_payment', t(7)), undoing('charge_payment', t(7), 2, 4_000)]);
  });

  it('has no deadlines and ignores carrier reports', () => {
    spec.given(cancelledOrder).when(check(t(50))).then([]);
    spec.given(cancelledOrder).when({ type: 'RecordDispatch', trackingNumber: 'TRK', now: t(7) }).then([]);
  });
});

describe('state', () => {
  it('folds the plan and step progress from the stream', () => {
    spec.given(chargeTimedOut).when(check(t(4))).thenState((s) => {
      expect(s.status).toBe('compensating');
      if (s.status !== 'compensating') return;
      expect(s.steps.reserve_stock?.state).toBe('succeeded');
      expect(s.steps.charge_payment).toMatchObject({ state: 'timed_out', compensation: { state: 'pending', attempt: 1 } });
      expect(s.steps.schedule_shipment).toBeUndefined();
    });
  });
});
