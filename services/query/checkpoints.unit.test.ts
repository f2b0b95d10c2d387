import { describe, expect, it } from 'vitest';
import { coalescedCheckpoints, type Checkpoint } from './checkpoints.js';

describe('coalesced checkpoints', () => {
  it('write the highest sequence per projection and stream once per flush', async () => {
    const written: Checkpoint[] = [];
    const checkpoints = coalescedCheckpoints({ write: async (c) => void written.push(c), intervalMs: 60_000 });
    for (const seq of [3, 1, 7, 5]) checkpoints.note({ projection: 'order_views', stream: 'ORDERS_EVENTS', seq });
    checkpoints.note({ projection: 'order_views', stream: 'PAYMENTS_EVENTS', seq: 2 });
    expect(written).toEqual([]);
    await checkpoints.flush();
    expect(written).toEqual([
      { projection: 'order_views', stream: 'ORDERS_EVENTS', seq: 7 },
      { projection: 'order_views', stream: 'PAYMENTS_EVENTS', seq: 2 },
    ]);
    await checkpoints.close();
    expect(written).toHaveLength(2); // nothing new: nothing written
  });

  it('write on their own within the interval', async () => {
    let resolve: (c: Checkpoint) => void;
    const first = new Promise<Checkpoint>((r) => (resolve = r));
    const checkpoints = coalescedCheckpoints({ write: async (c) => resolve(c), intervalMs: 20 });
    checkpoints.note({ projection: 'product_availability', stream: 'INVENTORY_EVENTS', seq: 4 });
    await expect(first).resolves.toEqual({ projection: 'product_availability', stream: 'INVENTORY_EVENTS', seq: 4 });
    await checkpoints.close();
  });

  it('keep what failed to be written for the next flush', async () => {
    const written: Checkpoint[] = [];
    let failing = true;
    const checkpoints = coalescedCheckpoints({
      write: async (c) => {
        if (failing) throw new Error('storage away');
        written.push(c);
      },
      intervalMs: 60_000,
    });
    checkpoints.note({ projection: 'order_views', stream: 'ORDERS_EVENTS', seq: 9 });
    await expect(checkpoints.flush()).rejects.toThrow('storage away');
    failing = false;
    await checkpoints.close();
    expect(written).toEqual([{ projection: 'order_views', stream: 'ORDERS_EVENTS', seq: 9 }]);
  });
});
