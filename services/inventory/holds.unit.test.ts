import { describe, expect, it } from 'vitest';
import { holdDelta, holdId, markOutcome, reverse, settleDelta, type HoldDocument } from './holds.js';
import type { StockMark } from './product.js';

const hold = (fields: Partial<HoldDocument>): HoldDocument => ({
  _id: holdId('mug', 'ord-1'),
  sku: 'mug',
  orderId: 'ord-1',
  units: 2,
  state: 'held',
  token: 't1',
  settle: null,
  heldBy: null,
  settledBy: null,
  updatedAt: new Date(0),
  ...fields,
});
const holdMark: StockMark = { token: 't1', phase: 'hold', delta: holdDelta(2) };
const settleMark: StockMark = { token: 't2', phase: 'settle', delta: settleDelta('ship', 2) };

describe('markOutcome', () => {
  it('stands when the hold document records the attempt as the outcome of its phase, whoever owns it now', () => {
    expect(markOutcome(holdMark, hold({ state: 'held', heldBy: 't1' }))).toBe('stands');
    expect(markOutcome(holdMark, hold({ state: 'settling', token: 't2', heldBy: 't1' }))).toBe('stands');
    expect(markOutcome(settleMark, hold({ state: 'settled', token: 't2', heldBy: 't1', settledBy: 't2' }))).toBe('stands');
  });

  it('is open while its attempt still owns the step', () => {
    expect(markOutcome(holdMark, hold({ state: 'holding', token: 't1' }))).toBe('open');
    expect(markOutcome(settleMark, hold({ state: 'settling', token: 't2', heldBy: 't1' }))).toBe('open');
  });

  it('is void once another attempt owns the hold, or the step ended without it', () => {
    expect(markOutcome(holdMark, hold({ state: 'holding', token: 't9' }))).toBe('void');
    expect(markOutcome(holdMark, hold({ state: 'void', token: 't1' }))).toBe('void');
    expect(markOutcome(settleMark, hold({ state: 'settling', token: 't3', heldBy: 't1' }))).toBe('void');
    expect(markOutcome(holdMark, null)).toBe('void');
  });
});

describe('stock deltas', () => {
  it('keeps on hand equal to available plus reserved, and a reversal undoes a move', () => {
    for (const delta of [holdDelta(3), settleDelta('return', 3), settleDelta('ship', 3)]) {
      const moved = { onHand: 0, available: 0, reserved: 0, shipped: 0, ...delta };
      expect(moved.onHand).toBe(moved.available + moved.reserved);
      const back = reverse(delta);
      for (const field of Object.keys(delta)) expect(delta[field]! + back[field]!).toBe(0);
    }
  });

  it('ids a hold by product and order, unambiguously', () => {
    expect(holdId('a/b', 'c')).not.toBe(holdId('a', 'b/c'));
  });
});
