import { describe, expect, it } from 'vitest';
import { IllegalStateError } from '../errors.js';
import { deciderSpec, type Decider } from './decider.js';

// A minimal counter decider, enough to show the helper compares exact events and errors.
type Command = { type: 'Increment'; by: number } | { type: 'Close' };
type Event = { type: 'Incremented'; by: number } | { type: 'Closed' };
type State = { status: 'open'; total: number } | { status: 'closed'; total: number };

const counter: Decider<Command, Event, State> = {
  initialState: () => ({ status: 'open', total: 0 }),
  evolve: (state, event) =>
    event.type === 'Incremented' ? { ...state, total: state.total + event.by } : { status: 'closed', total: state.total },
  decide: (command, state) => {
    if (state.status === 'closed') throw new IllegalStateError('counter is closed');
    return command.type === 'Increment' ? [{ type: 'Incremented', by: command.by }] : [{ type: 'Closed' }];
  },
};

const spec = deciderSpec(counter);

describe('deciderSpec', () => {
  it('folds the given events and compares the exact new events', () => {
    spec.given([{ type: 'Incremented', by: 2 }]).when({ type: 'Increment', by: 3 }).then([{ type: 'Incremented', by: 3 }]);
    spec
      .given([{ type: 'Incremented', by: 2 }])
      .when({ type: 'Increment', by: 3 })
      .thenState((state) => expect(state.total).toBe(5));
  });

  it('fails when the events differ', () => {
    expect(() => spec.given([]).when({ type: 'Close' }).then([{ type: 'Incremented', by: 1 }])).toThrow();
  });

  it('expects the named error, and fails when none is thrown', () => {
    spec.given([{ type: 'Closed' }]).when({ type: 'Close' }).thenThrows(IllegalStateError, /closed/);
    expect(() => spec.given([]).when({ type: 'Close' }).thenThrows(IllegalStateError)).toThrow(/expected IllegalStateError/);
  });
});
