import { expect } from 'vitest';

/** A pure decider: `decide(command, state) -> events`, `evolve(state, event) -> state`. */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/**
 * given/when/then for deciders: `given(events).when(command).then(expectedEvents)` compares the
 * exact events; `.thenThrows(ErrorClass, message?)` expects a rejection and no events.
 */
export function deciderSpec<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return {
    given(events: Event[]) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        when(command: Command) {
          const run = () => decider.decide(command, state);
          return {
            then(expected: Event[]) {
              expect(run()).toEqual(expected);
            },
            thenThrows(errorType: new (...args: never[]) => Error, message?: string | RegExp) {
              let caught: unknown;
              try {
                run();
              } catch (err) {
                caught = err;
              }
              expect(caught, `expected ${errorType.name}, but decide returned events`).toBeInstanceOf(errorType);
              if (message !== undefined) expect((caught as Error).message).toMatch(message);
            },
            thenState(check: (state: State) => void) {
              check(run().reduce(decider.evolve, state));
            },
          };
        },
      };
    },
  };
}
