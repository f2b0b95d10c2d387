// Every command delivered twice (as a saga resend: another message id) to two replicas sharing the
// durable consumer and the store: each order is charged and refunded at most once, and each
// command is answered once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../platform/testing/index.js';
import { eur, startPaymentsHarness, type PaymentsHarness } from './test-harness.js';

let h: PaymentsHarness;
beforeAll(async () => {
  h = await startPaymentsHarness();
  await h.boot();
});
afterAll(() => h.close());

const orders = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}_${i}`);
const types = (orderId: string) => h.answers(orderId).map((o) => o.type);
const twice = <T>(send: () => Promise<T>) => Promise.all([send(), send()]);

describe('two replicas, every command twice', () => {
  it('charges tok_ok once per order and refunds once per order', async () => {
    const ids = orders('ord_dup_ok', 20);
    await Promise.all(ids.map((id, i) => twice(() => h.charge(id, 'tok_ok', { amount: eur(100 + i) }))));
    await Promise.all(ids.map((id) => h.waitForAnswers(id, 1)));
    await Promise.all(ids.map((id) => twice(() => h.refund(id, 'customer cancelled'))));
    await Promise.all(ids.map((id) => h.waitForAnswers(id, 2)));
    await h.settled();
    for (const [i, id] of ids.entries()) {
      expect(types(id), id).toEqual(['PaymentCaptured', 'PaymentRefunded']);
      const ledger = await h.ledger(id);
      expect(ledger, id).toMatchObject({ captures: 1, capturedMinor: 100 + i, refundedMinor: 100 + i, keptMinor: 0 });
      expect(ledger.refunds, id).toHaveLength(1);
    }
  });

  it('answers a declined charge and its refund once each', async () => {
    await twice(() => h.charge('ord_dup_declined', 'tok_declined'));
    await h.waitForAnswers('ord_dup_declined', 1);
    await twice(() => h.refund('ord_dup_declined'));
    await h.waitForAnswers('ord_dup_declined', 2);
    await h.settled();
    expect(types('ord_dup_declined')).toEqual(['PaymentDeclined', 'PaymentRefundSkipped']);
    expect(await h.ledger('ord_dup_declined')).toMatchObject({ captures: 0, refunds: [] });
  });

  it('captures tok_flaky once when both copies retry through the gateway failures', async () => {
    await twice(() => h.charge('ord_dup_flaky', 'tok_flaky', { amount: eur(321) }));
    await h.waitForAnswers('ord_dup_flaky', 1);
    await h.settled();
    expect(types('ord_dup_flaky')).toEqual(['PaymentCaptured']);
    expect(await h.ledger('ord_dup_flaky')).toMatchObject({ captures: 1, capturedMinor: 321 });
  });

  it('keeps nothing of a tok_timeout charge whose refund (twice) arrives while both copies are in flight', async () => {
    await twice(() => h.charge('ord_dup_slow', 'tok_timeout', { amount: eur(5000) }));
    await waitFor('both copies to reach the gateway', async () => (await h.ledger('ord_dup_slow')).attempts === 2);
    await twice(() => h.refund('ord_dup_slow', 'payment step timed out'));
    await h.waitForAnswers('ord_dup_slow', 2);
    await h.settled();
    // The refund voids the charge in flight and is answered at once; both copies of the charge then get a decline.
    expect(types('ord_dup_slow')).toEqual(['PaymentRefundSkipped', 'PaymentDeclined']);
    const ledger = await h.ledger('ord_dup_slow');
    expect(ledger).toMatchObject({ captures: 0, capturedMinor: 0, refundedMinor: 0, keptMinor: 0 });
    expect(ledger.refunds).toHaveLength(0);
  });

  it('ends with nothing kept and every command answered once when charges and refunds race', async () => {
    const ids = orders('ord_race', 20);
    // Half the orders get their refunds first, half their charges: the handlers interleave in every way.
    await Promise.all(
      ids.map(async (id, i) => {
        const [first, second] = i % 2 ? [() => h.refund(id, 'race'), () => h.charge(id, 'tok_ok')] : [() => h.charge(id, 'tok_ok'), () => h.refund(id, 'race')];
        await twice(first);
        await twice(second);
      }),
    );
    await Promise.all(ids.map((id) => h.waitForAnswers(id, 2)));
    await h.settled();
    for (const id of ids) {
      const answered = types(id);
      // A refund that came first is skipped and no charge starts after it; one that finds the charge
      // in flight voids it at the gateway, is skipped, and the charge is declined (either may be
      // stored first); otherwise the capture is refunded.
      expect([
        ['PaymentCaptured', 'PaymentRefunded'],
        ['PaymentRefundSkipped', 'PaymentFailed'],
        ['PaymentFailed', 'PaymentRefundSkipped'],
        ['PaymentRefundSkipped', 'PaymentDeclined'],
        ['PaymentDeclined', 'PaymentRefundSkipped'],
      ]).toContainEqual(answered);
      const ledger = await h.ledger(id);
      expect(ledger.keptMinor, id).toBe(0);
      expect(ledger.refunds.length, id).toBe(ledger.captures);
    }
  });

  it('shared the commands between both replicas (one durable consumer, competing replicas)', () => {
    const handledBy = new Set(h.logLines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('command answered')).map((l) => l.replica));
    expect([...handledBy].sort()).toEqual([1, 2]);
  });
});
