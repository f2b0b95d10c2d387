import { describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { Commands, ConfigError, decodeMessage, Events, parseEnv } from '../platform/index.js';
import { compensationDelayMs, parsePlan, replyRoutes, stepDefinitions, type StepInput } from './saga.js';
import { ordersEnv, sagaTiming } from './service.js';

const input: StepInput = {
  orderId: 'ord_1',
  customerId: 'cus_1',
  items: [{ productId: 'mug', quantity: 2 }],
  total: { amountMinor: 2500, currency: 'EUR' },
  address: { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'DE' },
  paymentToken: 'tok_ok',
  reason: 'payment declined',
};

describe('the saga configuration', () => {
  it('runs stock, charge, shipment by default, with a 10 s deadline per step', () => {
    const config = parseEnv(ordersEnv, {});
    expect(config.SAGA_STEPS).toEqual(['reserve_stock', 'charge_payment', 'schedule_shipment']);
    expect(sagaTiming(config).deadlineMs).toEqual({ reserve_stock: 10_000, charge_payment: 10_000, schedule_shipment: 10_000 });
  });

  it('runs the charge first from configuration alone, and takes per-step deadlines', () => {
    const config = parseEnv(ordersEnv, {
      SAGA_STEPS: 'charge-payment,reserve-stock,schedule-shipment',
      SAGA_STEP_DEADLINE_MS: '500',
      SAGA_CHARGE_PAYMENT_DEADLINE_MS: '2500',
    });
    expect(config.SAGA_STEPS).toEqual(['charge_payment', 'reserve_stock', 'schedule_shipment']);
    expect(sagaTiming(config).deadlineMs).toEqual({ reserve_stock: 500, charge_payment: 2_500, schedule_shipment: 500 });
  });

  it('refuses a plan that misses, repeats or invents a step, naming the variable', () => {
    expect(() => parsePlan(['reserve-stock', 'charge-payment'])).toThrow(/exactly once/);
    expect(() => parsePlan(['reserve-stock', 'reserve-stock', 'charge-payment', 'schedule-shipment'])).toThrow(/exactly once/);
    expect(() => parsePlan(['reserve-stock', 'charge-payment', 'ship-it'])).toThrow(/unknown step "ship-it"/);
    let caught: unknown;
    try {
      parseEnv(ordersEnv, { SAGA_STEPS: 'charge-payment', SAGA_STEP_DEADLINE_MS: '0' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems.map((p) => p.variable)).toEqual(['SAGA_STEPS', 'SAGA_STEP_DEADLINE_MS']);
  });

  it('spaces re-sent compensations: the step deadline, doubled per attempt, capped', () => {
    const timing = { deadlineMs: { reserve_stock: 500, charge_payment: 500, schedule_shipment: 500 }, maxRetryDelayMs: 3_000 };
    expect([1, 2, 3, 4, 5].map((a) => compensationDelayMs(timing, 'charge_payment', a))).toEqual([500, 1_000, 2_000, 3_000, 3_000]);
  });
});

describe('the steps as data', () => {
  it('each step sends its command and its compensation to its participant', () => {
    const sent = Object.values(stepDefinitions).map((d) => ({
      step: d.name,
      command: d.command(input, `${d.name}:c`).type,
      compensation: d.compensation.command(input, `${d.name}:u`).type,
      onCompleted: d.onCompleted?.(input, `${d.name}:done`).type,
    }));
    expect(sent).toEqual([
      { step: 'reserve_stock', command: Commands.ReserveStock.type, compensation: Commands.ReleaseStock.type, onCompleted: Commands.CommitStock.type },
      { step: 'charge_payment', command: Commands.ChargePayment.type, compensation: Commands.RefundPayment.type, onCompleted: undefined },
      { step: 'schedule_shipment', command: Commands.ScheduleShipment.type, compensation: Commands.CancelShipment.type, onCompleted: undefined },
    ]);
  });

  it('builds the charge from the order and its secret token, with the command id given', () => {
    const message = stepDefinitions.charge_payment.command(input, 'ord_1:charge_payment:command');
    expect(message.id).toBe('ord_1:charge_payment:command');
    expect(message.subject).toBe(Commands.ChargePayment.subject);
    expect(decodeMessage(Commands.ChargePayment, message.data)).toEqual({ orderId: 'ord_1', customerId: 'cus_1', amount: input.total, paymentToken: 'tok_ok' });
  });

  it('routes every reply to its step with its meaning', () => {
    const routes = replyRoutes().map(({ step, spec }) => [spec.contract.type.split('.').at(-1), step]);
    expect(routes).toEqual([
      ['StockReserved', 'reserve_stock'],
      ['StockReservationFailed', 'reserve_stock'],
      ['StockReleased', 'reserve_stock'],
      ['PaymentCaptured', 'charge_payment'],
      ['PaymentDeclined', 'charge_payment'],
      ['PaymentFailed', 'charge_payment'],
      ['PaymentRefunded', 'charge_payment'],
      ['PaymentRefundSkipped', 'charge_payment'],
      ['ShipmentScheduled', 'schedule_shipment'],
      ['ShipmentFailed', 'schedule_shipment'],
      ['ShipmentCancelled', 'schedule_shipment'],
    ]);
    const read = (type: string, message: unknown) => replyRoutes().find((r) => r.spec.contract.type === type)!.spec.read(message);
    expect(
      read(Events.StockReservationFailed.type, { orderId: 'ord_1', shortages: [{ productId: 'mug', requested: 3, available: 1 }], reason: '' }),
    ).toEqual({ outcome: 'failed', reason: CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK, detail: 'short: mug (requested 3, available 1)' });
    // Inventory's reason names the short products already: said once, not repeated as a list.
    const reason = 'insufficient stock: mug (requested 3, available 1)';
    expect(
      read(Events.StockReservationFailed.type, { orderId: 'ord_1', shortages: [{ productId: 'mug', requested: 3, available: 1 }], reason }),
    ).toEqual({ outcome: 'failed', reason: CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK, detail: reason });
    expect(read(Events.PaymentDeclined.type, { reason: 'card declined: insufficient funds' })).toEqual({
      outcome: 'failed',
      reason: CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED,
      detail: 'card declined: insufficient funds',
    });
    expect(read(Events.PaymentRefundSkipped.type, {})).toEqual({ outcome: 'compensated' });
  });
});
