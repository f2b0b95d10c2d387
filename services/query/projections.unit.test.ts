// The read-your-writes wait of the query service when its store fails underneath it: a failed
// look must neither end the process (an unhandled rejection) nor be taken as the answer.
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../platform/index.js';
import type { OrderViewState } from './order-view.js';
import { createProjections } from './projections.js';
import type { ReadModels } from './views.js';

/** Read models whose order views answer from `answers` in turn: a state, or an error to throw. */
function modelsReading(answers: (Partial<OrderViewState> | Error)[]): ReadModels {
  let call = 0;
  const findOne = async () => {
    const answer = answers[Math.min(call++, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { orders: { findOne } } as unknown as ReadModels;
}

describe('waiting for an order view to reach a version', () => {
  it('keeps waiting through failed reads and answers when a later read finds the version', async () => {
    const failure = new Error('storage: disk I/O error');
    const projections = createProjections(modelsReading([{ version: 1 }, failure, failure, { version: 3 }]), { waitMs: 3_000 });
    await expect(projections.orderView('ord-1', 3)).resolves.toEqual({ version: 3 });
  });

  it('answers UNAVAILABLE naming the failed read at the deadline when every read fails', async () => {
    const failure = new Error('storage: disk I/O error');
    const projections = createProjections(modelsReading([{ version: 1 }, failure]), { waitMs: 700 });
    const waited = projections.orderView('ord-1', 2);
    await expect(waited).rejects.toBeInstanceOf(UnavailableError);
    await expect(waited).rejects.toThrow(/has not reached version 2 within 700 ms \(reading it failed: storage: disk I\/O error\)/);
  });
});
