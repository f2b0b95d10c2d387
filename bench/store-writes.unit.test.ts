import { describe, expect, it } from 'vitest';
import { counterValue, storeCountsPerOrder } from './store-writes.js';

describe('store write counters', () => {
  it('sums a counter over its label sets and ignores metrics whose name only starts the same', () => {
    const text = [
      '# HELP orderflow_storage_writes_total Write operations',
      '# TYPE orderflow_storage_writes_total counter',
      'orderflow_storage_writes_total{collection="a"} 12',
      'orderflow_storage_writes_total{collection="b"} 30',
      'orderflow_storage_writes_total_extra 999',
      'orderflow_storage_commits_total 7',
    ].join('\n');
    expect(counterValue(text, 'orderflow_storage_writes_total')).toBe(42);
    expect(counterValue(text, 'orderflow_storage_commits_total')).toBe(7);
    expect(counterValue(text, 'orderflow_absent_total')).toBe(0);
  });

  it('divides the growth between two samples by the completed orders and leaves out processes that wrote nothing', () => {
    const before = { orders: { writes: 100, commits: 40 }, gateway: { writes: 0, commits: 0 } };
    const after = { orders: { writes: 400, commits: 100 }, gateway: { writes: 0, commits: 0 }, late: { writes: 5, commits: 5 } };
    expect(storeCountsPerOrder(before, after, 50)).toEqual({ orders: { writes: 6, commits: 1.2 } });
  });
});
