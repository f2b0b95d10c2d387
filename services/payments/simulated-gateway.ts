// A simulated card gateway: the one fake in Orderflow, standing at a true edge (no real PSP is
// reachable here). It behaves like a PSP with idempotency keys: the first call under a key fixes
// the result, every later call gets the same result, and a key captures at most once. Its ledger
// lives in the service's DocumentStore, so replicas sharing the store share one "PSP".
import { createHash, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { DuplicateKeyError, type Collection, type DocumentStore } from '../platform/index.js';
import {
  GatewayClosedError,
  GatewayRejectedError,
  GatewayUnavailableError,
  type CardGateway,
  type ChargeRequest,
  type ChargeResponse,
  type RefundRequest,
  type RefundResponse,
  type VoidRequest,
  type VoidResponse,
} from './gateway.js';

/** The card tokens the simulation understands; any other token is declined. */
export const cardTokens = {
  /** Approved. */
  ok: 'tok_ok',
  /** Declined: "card declined: insufficient funds". */
  declined: 'tok_declined',
  /** Fails transiently for the first `flakyFailures` calls under a key, then is approved. */
  flaky: 'tok_flaky',
  /** Approved, but the answer comes only after `timeoutDelayMs`, past the saga's step deadline. */
  timeout: 'tok_timeout',
} as const;

export const insufficientFundsReason = 'card declined: insufficient funds';
export const unknownTokenReason = 'unknown payment token';
export const voidedReason = 'charge voided by the merchant before it captured';

/** Collection of the gateway's ledger: one document per idempotency key. */
export const gatewayLedgerCollection = 'gateway_charges';

export interface SimulatedGatewayOptions {
  store: DocumentStore;
  /** Delay of every call, in milliseconds. */
  latencyMs: number;
  /** Calls under one key that fail transiently for `tok_flaky`. */
  flakyFailures: number;
  /** How long `tok_timeout` keeps the caller waiting before it answers. */
  timeoutDelayMs: number;
}

interface ChargeEntry {
  [key: string]: unknown;
  /** The idempotency key. */
  _id: string;
  kind: 'charge';
  /** A digest of the card token (`tokenDigest`), never the token. */
  token: string;
  amount: Money;
  /** Calls made under the key, including the failed and the repeated ones. */
  attempts: number;
  createdAt: Date;
  /** Fixed by the first call that got past the transient failures. */
  outcome?: ChargeResponse;
  /**
   * When the capture lands and the caller gets the outcome (later than the decision for
   * `tok_timeout`); until then a void can still stop it.
   */
  answerAt?: Date;
  /** Set by a void: the outcome is a decline, whatever the card. */
  voided?: boolean;
}

interface RefundEntry {
  [key: string]: unknown;
  _id: string;
  kind: 'refund';
  chargeId: string;
  /** The idempotency key of the refunded charge. */
  chargeKey: string;
  amount: Money;
  refundId: string;
  createdAt: Date;
}

type LedgerEntry = ChargeEntry | RefundEntry;

export class SimulatedCardGateway implements CardGateway {
  readonly #ledger: Collection<LedgerEntry>;
  readonly #closed = new AbortController();

  constructor(private readonly options: SimulatedGatewayOptions) {
    this.#ledger = options.store.collection<LedgerEntry>(gatewayLedgerCollection);
    // Every waiting call listens on the one close signal; dozens may wait at once.
    setMaxListeners(0, this.#closed.signal);
  }

  async charge(request: ChargeRequest): Promise<ChargeResponse> {
    await this.#wait(this.options.latencyMs);
    let entry = await this.#countAttempt(request);
    if (!entry.outcome) {
      if (request.token === cardTokens.flaky && entry.attempts <= this.options.flakyFailures) {
        throw new GatewayUnavailableError(
          `card gateway unavailable (simulated: call ${entry.attempts} of ${this.options.flakyFailures} failing for ${cardTokens.flaky})`,
        );
      }
      const delay = request.token === cardTokens.timeout ? this.options.timeoutDelayMs : 0;
      // First writer wins: a racing call under the same key may have decided meanwhile.
      await this.#ledger.updateOne(
        { _id: request.idempotencyKey, outcome: { $exists: false } },
        { $set: { outcome: outcomeFor(request), answerAt: new Date(Date.now() + delay) } },
      );
      entry = (await this.#ledger.findOne({ _id: request.idempotencyKey })) as ChargeEntry;
    }
    // A repeated call waits as long as the first: the PSP answers them alike. A void meanwhile
    // changes the outcome, so it is read again at the end.
    await this.#wait((entry.answerAt?.getTime() ?? 0) - Date.now());
    return ((await this.#ledger.findOne({ _id: request.idempotencyKey })) as ChargeEntry).outcome!;
  }

  async void(request: VoidRequest): Promise<VoidResponse> {
    await this.#wait(this.options.latencyMs);
    const key = request.idempotencyKey;
    const declined: ChargeResponse = { status: 'declined', reason: voidedReason };
    for (;;) {
      const entry = (await this.#ledger.findOne({ _id: key })) as LedgerEntry | null;
      if (entry && entry.kind !== 'charge') throw new GatewayRejectedError(`idempotency key ${key} belongs to a refund`);
      if (entry?.voided) return { status: 'voided' };
      const at = new Date();
      if (entry?.outcome?.status === 'approved' && (entry.answerAt?.getTime() ?? 0) <= at.getTime()) return { status: 'captured', chargeId: entry.outcome.chargeId };
      if (!entry) {
        // Nothing under the key yet: a charge arriving later under it is declined.
        try {
          await this.#ledger.insertOne({ _id: key, kind: 'charge', token: '', amount: { amountMinor: 0, currency: '' }, attempts: 0, createdAt: at, outcome: declined, answerAt: at, voided: true });
          return { status: 'voided' };
        } catch (err) {
          if (!(err instanceof DuplicateKeyError)) throw err;
          continue;
        }
      }
      // Pending (or declined): the capture has not landed, so it never will. Conditional on the
      // entry as read, so a capture landing meanwhile is seen on the next round.
      const voided = await this.#ledger.findOneAndUpdate(
        { _id: key, attempts: entry.attempts, ...(entry.answerAt ? { answerAt: { $gt: at } } : { outcome: { $exists: false } }) },
        { $set: { voided: true, outcome: declined, answerAt: at } },
      );
      if (voided) return { status: 'voided' };
      if (entry.outcome && entry.outcome.status !== 'approved') return { status: 'voided' };
    }
  }

  async refund(request: RefundRequest): Promise<RefundResponse> {
    await this.#wait(this.options.latencyMs);
    const existing = await this.#ledger.findOne({ _id: request.idempotencyKey });
    if (existing) return this.#sameRefund(existing, request);
    const charge = (await this.#ledger.findOne({ kind: 'charge', 'outcome.chargeId': request.chargeId })) as ChargeEntry | null;
    if (!charge || charge.outcome?.status !== 'approved') throw new GatewayRejectedError(`no capture ${request.chargeId} to refund`);
    if (request.amount.currency !== charge.amount.currency) {
      throw new GatewayRejectedError(`refund in ${request.amount.currency} of a capture in ${charge.amount.currency}`);
    }
    const earlier = (await this.#ledger.find({ kind: 'refund', chargeId: request.chargeId })) as RefundEntry[];
    const refunded = earlier.reduce((sum, r) => sum + r.amount.amountMinor, 0);
    if (request.amount.amountMinor <= 0 || refunded + request.amount.amountMinor > charge.amount.amountMinor) {
      // A call with this very key may have recorded its refund since we looked: that is this refund.
      const recorded = await this.#ledger.findOne({ _id: request.idempotencyKey });
      if (recorded) return this.#sameRefund(recorded, request);
      throw new GatewayRejectedError(
        `refund of ${request.amount.amountMinor} exceeds what is left of capture ${request.chargeId} (${charge.amount.amountMinor - refunded})`,
      );
    }
    const entry: RefundEntry = {
      _id: request.idempotencyKey,
      kind: 'refund',
      chargeId: request.chargeId,
      chargeKey: charge._id,
      amount: request.amount,
      refundId: `re_${randomUUID()}`,
      createdAt: new Date(),
    };
    try {
      await this.#ledger.insertOne(entry);
      return { refundId: entry.refundId };
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      // A racing call under the same key refunded first; answer with its refund.
      return this.#sameRefund((await this.#ledger.findOne({ _id: request.idempotencyKey }))!, request);
    }
  }

  /** Indexes the lookups of refunds: a charge by its id, the refunds of a charge by its id or key. */
  async createIndexes(): Promise<void> {
    await this.#ledger.createIndex({ 'outcome.chargeId': 1 }, { name: 'charge_by_charge_id' });
    await this.#ledger.createIndex({ chargeId: 1 }, { name: 'refunds_by_charge_id' });
    await this.#ledger.createIndex({ chargeKey: 1 }, { name: 'refunds_by_charge_key' });
  }

  /** Ends the calls in flight with GatewayClosedError, so a stopping service does not wait out `tok_timeout`. */
  async close(): Promise<void> {
    this.#closed.abort();
  }

  async #countAttempt(request: ChargeRequest): Promise<ChargeEntry> {
    const update = {
      $inc: { attempts: 1 },
      $setOnInsert: { kind: 'charge', token: tokenDigest(request.token), amount: request.amount, createdAt: new Date() },
    };
    const entry = await this.#ledger.findOneAndUpdate({ _id: request.idempotencyKey }, update, { upsert: true }).catch((err: unknown) => {
      // MongoDB lets one of two racing upserts of a new key fail; the other inserted it.
      if (err instanceof DuplicateKeyError) return this.#ledger.findOneAndUpdate({ _id: request.idempotencyKey }, update);
      throw err;
    });
    if (!entry || entry.kind !== 'charge') throw new GatewayRejectedError(`idempotency key ${request.idempotencyKey} belongs to a refund`);
    if (entry.token !== tokenDigest(request.token) || !sameMoney(entry.amount, request.amount)) {
      // Stripe answers 400 here: a key must not be reused with other parameters.
      throw new GatewayRejectedError(`idempotency key ${request.idempotencyKey} was used with other parameters`);
    }
    return entry;
  }

  #sameRefund(existing: LedgerEntry, request: RefundRequest): RefundResponse {
    if (existing.kind !== 'refund' || existing.chargeId !== request.chargeId || !sameMoney(existing.amount, request.amount)) {
      throw new GatewayRejectedError(`idempotency key ${request.idempotencyKey} was used with other parameters`);
    }
    return { refundId: existing.refundId };
  }

  async #wait(ms: number): Promise<void> {
    if (this.#closed.signal.aborted) throw new GatewayClosedError();
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: this.#closed.signal });
    } catch (err) {
      if (this.#closed.signal.aborted) throw new GatewayClosedError();
      throw err;
    }
  }
}

function outcomeFor(request: ChargeRequest): ChargeResponse {
  switch (request.token) {
    case cardTokens.ok:
    case cardTokens.flaky:
    case cardTokens.timeout:
      if (request.amount.amountMinor <= 0) return { status: 'declined', reason: 'invalid amount' };
      return { status: 'approved', chargeId: `ch_${randomUUID()}` };
    case cardTokens.declined:
      return { status: 'declined', reason: insufficientFundsReason };
    default:
      return { status: 'declined', reason: unknownTokenReason };
  }
}

// The ledger shares the payments store, so it keeps a digest: enough to refuse a reused key with
// another card, while the token itself stays at rest nowhere.
const tokenDigest = (token: string): string => `sha256:${createHash('sha256').update(token).digest('hex')}`;

const sameMoney = (a: Money | undefined, b: Money | undefined): boolean =>
  a?.amountMinor === b?.amountMinor && a?.currency === b?.currency;

/** What the gateway holds under one charge key: for tests and operators checking that no money was kept. */
export interface GatewayLedger {
  /** Calls that reached the gateway under the key. */
  attempts: number;
  /** 1 when the key captured, else 0; never more, by construction. */
  captures: number;
  capturedMinor: number;
  refunds: { refundId: string; idempotencyKey: string; amountMinor: number }[];
  refundedMinor: number;
  /** Captured minus refunded: what the merchant keeps. */
  keptMinor: number;
}

/** Reads the ledger of one charge key (payments uses the order id as the key). */
export async function readGatewayLedger(store: DocumentStore, chargeKey: string): Promise<GatewayLedger> {
  const ledger = store.collection<LedgerEntry>(gatewayLedgerCollection);
  const charge = (await ledger.findOne({ _id: chargeKey, kind: 'charge' })) as ChargeEntry | null;
  const refunds = (await ledger.find({ kind: 'refund', chargeKey }, { sort: { createdAt: 1 } })) as RefundEntry[];
  const approved = charge?.outcome?.status === 'approved';
  const capturedMinor = approved ? charge.amount.amountMinor : 0;
  const refundedMinor = refunds.reduce((sum, r) => sum + r.amount.amountMinor, 0);
  return {
    attempts: charge?.attempts ?? 0,
    captures: approved ? 1 : 0,
    capturedMinor,
    refunds: refunds.map((r) => ({ refundId: r.refundId, idempotencyKey: r._id, amountMinor: r.amount.amountMinor })),
    refundedMinor,
    keptMinor: capturedMinor - refundedMinor,
  };
}
