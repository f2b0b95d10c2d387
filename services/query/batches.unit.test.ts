import { describe, expect, it } from 'vitest';
import { perKeyBatches, recentDocuments } from './batches.js';

describe('perKeyBatches', () => {
  it('runs the items of one key that arrive in one turn as one batch, and items arriving during it as the next', async () => {
    const runs: string[][] = [];
    let later: Promise<string> | undefined;
    const batches = perKeyBatches<string, string>(async (key, items) => {
      runs.push(items);
      if (runs.length === 1) later = batches.apply(key, 'c'); // arrives while the first batch runs
      await new Promise((resolve) => setTimeout(resolve, 5));
      return items.map((item) => `${key}:${item}`);
    });
    const first = await Promise.all([batches.apply('k', 'a'), batches.apply('k', 'b')]);
    expect(first).toEqual(['k:a', 'k:b']);
    expect(await later).toBe('k:c');
    expect(runs).toEqual([['a', 'b'], ['c']]);
  });

  it('runs different keys in batches of their own', async () => {
    const runs: [string, string[]][] = [];
    const batches = perKeyBatches<string, string>(async (key, items) => {
      runs.push([key, items]);
      return items;
    });
    await Promise.all([batches.apply('x', '1'), batches.apply('y', '2'), batches.apply('x', '3')]);
    expect(runs.sort()).toEqual([
      ['x', ['1', '3']],
      ['y', ['2']],
    ]);
  });

  it('rejects only the item whose result is an Error, and every item of a batch that throws', async () => {
    const batches = perKeyBatches<string, string>(async (key, items) => {
      if (key === 'broken') throw new Error('store down');
      return items.map((item) => (item === 'bad' ? new Error(`cannot fold ${item}`) : item));
    });
    const settled = await Promise.allSettled([batches.apply('k', 'good'), batches.apply('k', 'bad')]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
    await expect(batches.apply('broken', 'any')).rejects.toThrow('store down');
    expect(await batches.apply('k', 'again')).toBe('again'); // the key is free again after a failure
  });
});

describe('recentDocuments', () => {
  it('hands a document out once and drops the least recently kept beyond its limit', () => {
    const recent = recentDocuments<{ _id: string; n: number }>(2);
    recent.keep({ _id: 'a', n: 1 });
    recent.keep({ _id: 'b', n: 2 });
    recent.keep({ _id: 'a', n: 3 }); // kept again: now the most recent
    recent.keep({ _id: 'c', n: 4 }); // over the limit: b goes
    expect(recent.take('b')).toBeUndefined();
    expect(recent.take('a')).toEqual({ _id: 'a', n: 3 });
    expect(recent.take('a')).toBeUndefined();
    expect(recent.take('c')).toEqual({ _id: 'c', n: 4 });
  });
});
