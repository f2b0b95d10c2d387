// The simulated card gateway against the embedded store: PSP-style idempotency per key, the
// token behaviours, refund rules, and closing while a call waits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentStore } from '../platform/index.js';
import { GatewayClosedError, GatewayRejectedError, GatewayUnavailableError } from './gateway.js';
import { readGatewayLedger, SimulatedCardGateway } from './simulated-gateway.js';
import { testStorage, type TestStorage } from '../platform/testing/index.js';

const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

let dataDir: string;
let store: DocumentStore;
let storage: TestStorage;
let gateway: SimulatedCardGateway;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-gateway-'));
  storage = testStorage(dataDir);
  store = await storage.open('payments');
  gateway = new SimulatedCardGateway({ store, latencyMs: 1, flakyFailures: 2, timeoutDelayMs: 300 });
});
afterAll(async () => {
  await store.close();
  await storage.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

describe('charge', () => {
  it('approves tok_ok once per key: repeated and concurrent calls get the same charge', async () => {
    const calls = await Promise.all(Array.from({ length: 10 }, () => gateway.charge({ idempotencyKey: 'k_ok', amount: eur(500), token: 'tok_ok' })));
    const ids = new Set(calls.map((c) => (c.status === 'approved' ? c.chargeId : c.reason)));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^ch_/);
    expect(await readGatewayLedger(store, 'k_ok')).toMatchObject({ attempts: 10, captures: 1, capturedMinor: 500 });
  });

  it('declines tok_declined and unknown tokens with their reasons', async () => {
    expect(await gateway.charge({ idempotencyKey: 'k_d', amount: eur(1), token: 'tok_declined' })).toEqual({
      status: 'declined',
      reason: 'card declined: insufficient funds',
    });
    expect(await gateway.charge({ idempotencyKey: 'k_u', amount: eur(1), token: 'tok_nope' })).toEqual({
      status: 'declined',
      reason: 'unknown payment token',
    });
    expect((await readGatewayLedger(store, 'k_d')).captures).toBe(0);
  });

  it('fails tok_flaky transiently for the first calls under a key, then approves once', async () => {
    const request = { idempotencyKey: 'k_flaky', amount: eur(700), token: 'tok_flaky' };
    await expect(gateway.charge(request)).rejects.toBeInstanceOf(GatewayUnavailableError);
    await expect(gateway.charge(request)).rejects.toThrow('call 2 of 2 failing for tok_flaky');
    const third = await gateway.charge(request);
    expect(third.status).toBe('approved');
    expect(await gateway.charge(request)).toEqual(third);
    expect(await readGatewayLedger(store, 'k_flaky')).toMatchObject({ attempts: 4, captures: 1 });
  });

  it('answers tok_timeout only after the delay, also to a repeated call, with one capture', async () => {
    const request = { idempotencyKey: 'k_slow', amount: eur(900), token: 'tok_timeout' };
    const started = Date.now();
    const first = gateway.charge(request);
    // The capture is on the ledger while the caller still waits for the answer.
    await expect.poll(async () => (await readGatewayLedger(store, 'k_slow')).captures).toBe(1);
    const [a, b] = await Promise.all([first, gateway.charge(request)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(a).toEqual(b);
  });

  it('rejects a key reused with another amount or token', async () => {
    await gateway.charge({ idempotencyKey: 'k_reuse', amount: eur(10), token: 'tok_ok' });
    await expect(gateway.charge({ idempotencyKey: 'k_reuse', amount: eur(11), token: 'tok_ok' })).rejects.toBeInstanceOf(GatewayRejectedError);
    await expect(gateway.charge({ idempotencyKey: 'k_reuse', amount: eur(10), token: 'tok_declined' })).rejects.toThrow('other parameters');
  });
});

describe('refund', () => {
  it('refunds a capture once per key, and never more than was captured', async () => {
    const charge = await gateway.charge({ idempotencyKey: 'k_r', amount: eur(1000), token: 'tok_ok' });
    if (charge.status !== 'approved') throw new Error('expected approval');
    const refunds = await Promise.all(
      Array.from({ length: 5 }, () => gateway.refund({ idempotencyKey: 'k_r:refund', chargeId: charge.chargeId, amount: eur(1000) })),
    );
    expect(new Set(refunds.map((r) => r.refundId)).size).toBe(1);
    await expect(gateway.refund({ idempotencyKey: 'k_r:again', chargeId: charge.chargeId, amount: eur(1) })).rejects.toThrow(
      'exceeds what is left of capture',
    );
    expect(await readGatewayLedger(store, 'k_r')).toMatchObject({ captures: 1, refundedMinor: 1000, keptMinor: 0 });
  });

  it('refuses to refund a charge that did not capture, or an unknown one', async () => {
    await expect(gateway.refund({ idempotencyKey: 'x:refund', chargeId: 'ch_unknown', amount: eur(1) })).rejects.toBeInstanceOf(GatewayRejectedError);
  });
});

describe('close', () => {
  it('ends a waiting call with GatewayClosedError', async () => {
    const closing = new SimulatedCardGateway({ store, latencyMs: 1, flakyFailures: 0, timeoutDelayMs: 60_000 });
    const call = closing.charge({ idempotencyKey: 'k_closed', amount: eur(5), token: 'tok_timeout' });
    await expect.poll(async () => (await readGatewayLedger(store, 'k_closed')).attempts).toBe(1);
    await closing.close();
    await expect(call).rejects.toBeInstanceOf(GatewayClosedError);
  });
});
