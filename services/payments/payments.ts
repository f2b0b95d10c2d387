// Runs the saga's payment commands: read the stream, fold, decide, append at the version read
// (a ConcurrencyError means a duplicate or another replica got there first: decide again). The
// card gateway is called with the order id as idempotency key, so racing calls capture once.
//
// RefundPayment may arrive while the charge is still at the gateway (the saga's step deadline
// passed, e.g. tok_timeout). No event in proto records "refund requested", so the payment record
// (records.ts) carries it, and two atomic fields there order the handlers:
// - the charge claims `chargeStarted` only while no refund was requested (or it already started);
// - the refund writes `refundRequest` first, then reads `chargeStarted` and the stream.
// A refund that finds no charge started answers PaymentRefundSkipped, and no charge starts after
// it. A refund that finds a charge in flight voids it at the gateway (by its idempotency key) and
// answers PaymentRefundSkipped at once; the charge, when its call returns, gets a decline and
// records PaymentDeclined. Only when the void comes too late (the capture landed) does the refund
// not answer: the charge, after appending its outcome, reads the request and answers it
// (PaymentCaptured then PaymentRefunded). Each side writes before it reads the other's field, so at
// least one of them sees both and answers; both may, and the stream version lets one win.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import {
  eventCodec,
  ConcurrencyError,
  Events,
  Violations,
  type EventStore,
  type Logger,
  type NewEvent,
  type StoredEvent,
} from '../platform/index.js';
import { decide, needsChargeOutcome, nextRefundStep, type ChargeResult, type PaymentCommand } from './decide.js';
import { GatewayRejectedError, GatewayUnavailableError, type CardGateway } from './gateway.js';
import { evolve, initialState, paymentStream, type Payment, type PaymentEvent } from './payment.js';
import { viewOf } from './payment-view.js';
import type { PaymentRecord, PaymentRecords } from './records.js';

export interface ChargeInput {
  orderId: string;
  customerId: string;
  amount: Money | undefined;
  token: string;
  causationId: string;
  /** The message will not be redelivered: a gateway still failing now means PaymentFailed. */
  lastDelivery: boolean;
}

export interface RefundInput {
  orderId: string;
  reason: string;
  causationId: string;
}

/** What a command came to: the events appended (none for a repeat) and the state after it. */
export interface Handled {
  appended: PaymentEvent[];
  state: Payment;
  /** A refund request waits for the charge in flight to answer it. */
  awaitingCharge: boolean;
}

export interface LoadedPayment {
  state: Payment;
  version: number;
  record: PaymentRecord | null;
}

export interface Payments {
  load(orderId: string): Promise<LoadedPayment>;
  charge(input: ChargeInput): Promise<Handled>;
  refund(input: RefundInput): Promise<Handled>;
}

export interface PaymentsOptions {
  events: EventStore;
  records: PaymentRecords;
  gateway: CardGateway;
  logger: Logger;
  /** The clock; read when an outcome is recorded, so a slow gateway's answer carries its own time. */
  now: () => Date;
  /** Appends tried before a command that keeps losing races is left to redelivery. Default 5. */
  maxAttempts?: number;
}

/** The aggregate's events and their contracts: the codec between decider and event store. */
const codec = eventCodec({
  PaymentCaptured: Events.PaymentCaptured,
  PaymentDeclined: Events.PaymentDeclined,
  PaymentFailed: Events.PaymentFailed,
  PaymentRefunded: Events.PaymentRefunded,
  PaymentRefundSkipped: Events.PaymentRefundSkipped,
});

/**
 * Each event type occurs at most once in a payment's stream, so `<orderId>:<type>` is a stable id:
 * a reply appended, relayed and then re-relayed after a crash is absorbed by JetStream.
 */
const toNew = (orderId: string, event: PaymentEvent): NewEvent => codec.toNew(event, `${orderId}:${event.type}`);
const fromStored = (stored: StoredEvent): PaymentEvent => codec.fromStored(stored);

/** The gateway key of an order's refund: one refund per order, however many replicas try. */
export const refundKeyFor = (orderId: string): string => `${orderId}:refund`;

/** Why a ChargePayment cannot go to the gateway, or undefined when it can. */
export function invalidChargeReason(amount: Money | undefined): string | undefined {
  try {
    new Violations().money('amount', amount, { positive: true }).throwIfAny();
    return undefined;
  } catch (err) {
    return `invalid charge request: ${(err as Error).message.replace(/^invalid request: /, '')}`;
  }
}

/** What settling a refund request did; `state` is absent when there was no request to settle. */
type Settled = { appended: PaymentEvent[]; awaitingCharge: boolean; state?: Payment };

export function createPayments(options: PaymentsOptions): Payments {
  const { events, records, gateway, logger, now } = options;
  const maxAttempts = options.maxAttempts ?? 5;

  const fold = async (orderId: string): Promise<{ state: Payment; version: number }> => {
    const stored = await events.readStream(paymentStream(orderId));
    return { state: stored.map(fromStored).reduce(evolve, initialState()), version: stored.at(-1)?.version ?? 0 };
  };

  /** Decides and appends; returns the state after it and what it appended (nothing for a repeat). */
  const execute = async (command: PaymentCommand, causationId: string): Promise<{ state: Payment; appended: PaymentEvent[] }> => {
    const { orderId } = command;
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await fold(orderId);
      const decided = decide(command, state);
      if (decided.length === 0) return { state, appended: [] };
      try {
        const result = await events.append(paymentStream(orderId), version, decided.map((e) => toNew(orderId, e)), {
          correlationId: orderId,
          causationId,
          now: command.now,
        });
        const after = decided.reduce(evolve, state);
        await records.saveView(orderId, result.version, viewOf(after, command.now));
        return { state: after, appended: decided };
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= maxAttempts) throw err;
        logger.debug({ orderId, attempt, command: command.type }, 'lost an append race; deciding again');
      }
    }
  };

  /** Claims and makes the gateway call; a gateway still failing on the last delivery ends as `failed`. */
  const chargeAtGateway = async (input: ChargeInput): Promise<{ result: ChargeResult; chargeId?: string }> => {
    const invalid = invalidChargeReason(input.amount);
    if (invalid) return { result: { status: 'declined', reason: invalid } };
    if (!(await records.claimCharge(input.orderId))) {
      return { result: { status: 'failed', reason: 'charge cancelled: a refund was requested before the charge started' } };
    }
    try {
      const response = await gateway.charge({ idempotencyKey: input.orderId, amount: input.amount!, token: input.token });
      if (response.status === 'declined') return { result: response };
      // Stored before the capture is appended, so whoever refunds the capture finds its id.
      await records.recordChargeId(input.orderId, response.chargeId);
      return { result: { status: 'approved' }, chargeId: response.chargeId };
    } catch (err) {
      if (err instanceof GatewayRejectedError) return { result: { status: 'declined', reason: `gateway rejected the charge: ${err.message}` } };
      if (err instanceof GatewayUnavailableError && input.lastDelivery) return { result: { status: 'failed', reason: err.message } };
      throw err;
    }
  };

  /**
   * Answers the order's refund request, if there is one and it can be answered now. Both handlers
   * call it after their own write (refund request, charge outcome), so it sees the other's.
   */
  const settleRefund = async (orderId: string): Promise<Settled> => {
    const record = await records.get(orderId);
    const request = record?.refundRequest;
    if (!record || !request) return { appended: [], awaitingCharge: false };
    const { state } = await fold(orderId);
    switch (nextRefundStep(state, record.chargeStarted)) {
      case 'done':
        return { appended: [], state, awaitingCharge: false };
      case 'await-charge': {
        // The charge is still at the gateway (tok_timeout, a customer cancel during a slow
        // charge): void it there rather than keep the saga, and the order's stock, waiting for it.
        const voided = await gateway.void({ idempotencyKey: orderId });
        // Captured just now: the charge handler, about to return, records it and refunds.
        if (voided.status === 'captured') return { appended: [], state, awaitingCharge: true };
        logger.info({ orderId }, 'voided the charge in flight at the gateway; the refund is skipped');
        const reason = 'no captured payment: the charge in flight was voided at the gateway';
        return { ...(await execute({ type: 'SkipRefund', orderId, now: now(), reason }, request.causationId)), awaitingCharge: false };
      }
      case 'skip':
        return { ...(await execute({ type: 'SkipRefund', orderId, now: now() }, request.causationId)), awaitingCharge: false };
      case 'refund': {
        if (state.status !== 'captured' || !record.chargeId) throw new Error(`payment of order ${orderId}: captured without a gateway charge id`);
        await gateway.refund({ idempotencyKey: refundKeyFor(orderId), chargeId: record.chargeId, amount: state.amount });
        return { ...(await execute({ type: 'RecordRefund', orderId, reason: request.reason, now: now() }, request.causationId)), awaitingCharge: false };
      }
    }
  };

  return {
    async load(orderId) {
      const [folded, record] = await Promise.all([fold(orderId), records.get(orderId)]);
      return { ...folded, record };
    },

    async charge(input) {
      const { orderId } = input;
      const appended: PaymentEvent[] = [];
      let { state } = await fold(orderId);
      if (needsChargeOutcome(state)) {
        await records.requestCharge(orderId, input.customerId, input.amount, now());
        const { result, chargeId } = await chargeAtGateway(input);
        const recorded = await execute({ type: 'RecordCharge', orderId, amount: input.amount, result, now: now() }, input.causationId);
        appended.push(...recorded.appended);
        state = recorded.state;
        if (chargeId && state.status !== 'captured' && state.status !== 'refunded') {
          // Another outcome was answered first (payments gave up on a gateway that then captured):
          // the saga was told nothing was captured, so nothing may be kept.
          await gateway.refund({ idempotencyKey: refundKeyFor(orderId), chargeId, amount: input.amount! });
          logger.warn({ orderId, chargeId, answered: state.status }, 'gateway captured after another outcome was answered; refunded the capture');
        }
      }
      const settled = await settleRefund(orderId);
      return { appended: [...appended, ...settled.appended], state: settled.state ?? state, awaitingCharge: false };
    },

    async refund(input) {
      const at = now();
      await records.requestRefund(input.orderId, { reason: input.reason, requestedAt: at, causationId: input.causationId }, at);
      const settled = await settleRefund(input.orderId);
      return { appended: settled.appended, state: settled.state ?? (await fold(input.orderId)).state, awaitingCharge: settled.awaitingCharge };
    },
  };
}
