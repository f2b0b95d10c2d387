// The card gateway as payments sees it: the edge to a payment service provider. The only
// implementation here is simulated (simulated-gateway.ts); a real PSP adapter would implement the
// same interface, with the same idempotency contract.
import type { Money } from '../../generated/orderflow/common/v1/common.js';

/** Asks the gateway to capture `amount` from the card behind `token`. */
export interface ChargeRequest {
  /**
   * Makes the call safe to repeat, like a Stripe `Idempotency-Key`: every call with the same key
   * gets the first call's result, and at most one capture is ever made under it.
   */
  idempotencyKey: string;
  amount: Money;
  token: string;
}

export type ChargeResponse = { status: 'approved'; chargeId: string } | { status: 'declined'; reason: string };

/** Asks the gateway to give back (part of) a capture. */
export interface RefundRequest {
  /** As for charges: at most one refund is made under a key. */
  idempotencyKey: string;
  chargeId: string;
  amount: Money;
}

export interface RefundResponse {
  refundId: string;
}

/** Asks the gateway to void the charge under a key before it captures (a PSP's cancel of a pending charge). */
export interface VoidRequest {
  /** The charge's idempotency key. */
  idempotencyKey: string;
}

/**
 * `voided`: no capture is or will ever be made under the key (a charge still in flight answers
 * declined). `captured`: too late, the capture was made; refund it.
 */
export type VoidResponse = { status: 'voided' } | { status: 'captured'; chargeId: string };

export interface CardGateway {
  /** Throws GatewayUnavailableError when the gateway could not answer; retry with the same key. */
  charge(request: ChargeRequest): Promise<ChargeResponse>;
  /** Throws GatewayRejectedError for a refund the charge does not allow, GatewayUnavailableError as for charges. */
  refund(request: RefundRequest): Promise<RefundResponse>;
  /** Voids the charge under a key unless it has captured; idempotent. GatewayUnavailableError as for charges. */
  void(request: VoidRequest): Promise<VoidResponse>;
}

/** The gateway did not answer (network error, 5xx, overload): nothing is known to have happened; retry. */
export class GatewayUnavailableError extends Error {
  readonly code = 'GATEWAY_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayUnavailableError';
  }
}

/** The gateway refused the request itself (bad parameters, key reused, refund too large); retrying will not help. */
export class GatewayRejectedError extends Error {
  readonly code = 'GATEWAY_REJECTED';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayRejectedError';
  }
}

/** The gateway client was closed while a call was waiting: the process is stopping; redeliver elsewhere. */
export class GatewayClosedError extends Error {
  readonly code = 'GATEWAY_CLOSED';
  constructor() {
    super('card gateway client closed while a call was in flight');
    this.name = 'GatewayClosedError';
  }
}
