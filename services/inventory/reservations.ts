// Runs the saga's stock commands: read the order's reservation stream, do the stock work its
// state calls for, decide the answer, append it at the version read. The answer is appended
// once per order however often the command arrives: a duplicate that loses the append race
// reads again and finds it answered. The message is acknowledged only after this returns, so
// a crash anywhere in between is finished by the redelivery (every stock move is idempotent).
import {
  ConcurrencyError,
  eventCodec,
  Events,
  type EventStore,
  type Logger,
  type NewEvent,
  type StoredEvent,
} from '../platform/index.js';
import { decide, leftoverHolds, stockWork, type StockCommand, type StockEffect } from './decide.js';
import {
  evolve,
  initialState,
  reservationStream,
  type Reservation,
  type ReservationEvent,
} from './reservation.js';
import type { Stock } from './stock.js';

/** What a command came to. */
export interface Executed {
  /** The reservation before the command's answer (as last read). */
  before: Reservation;
  /** The reservation afterwards. */
  state: Reservation;
  /** The answer appended; empty when the command had been answered before. */
  appended: ReservationEvent[];
  /** The stock work the command did. */
  effect: StockEffect;
}

export interface Reservations {
  load(orderId: string): Promise<{ state: Reservation; version: number }>;
  execute(command: StockCommand, options?: { causationId?: string }): Promise<Executed>;
}

export interface ReservationsOptions {
  events: EventStore;
  stock: Stock;
  logger: Logger;
  /** Tries before a command that keeps losing append races gives up (its message is redelivered). Default 10. */
  maxAttempts?: number;
}

const codec = eventCodec({
  StockReserved: Events.StockReserved,
  StockReservationFailed: Events.StockReservationFailed,
  StockReleased: Events.StockReleased,
  StockCommitted: Events.StockCommitted,
});

/**
 * Each event type occurs at most once in a reservation stream (every command is answered once),
 * so `<orderId>:<type>` is a stable id that JetStream de-duplicates on a repeated relay.
 */
const toNew = (event: ReservationEvent): NewEvent => codec.toNew(event, `${event.data.orderId}:${event.type}`);
const fromStored = (stored: StoredEvent): ReservationEvent => codec.fromStored(stored);

export function createReservations(options: ReservationsOptions): Reservations {
  const { events, stock, logger } = options;
  const maxAttempts = options.maxAttempts ?? 10;

  const load = async (orderId: string) => {
    const stored = await events.readStream(reservationStream(orderId));
    return { state: stored.map(fromStored).reduce(evolve, initialState()), version: stored.at(-1)?.version ?? 0 };
  };

  /** Once the answer is stored and the order holds no stock, no hold of it may remain. */
  const clearLeftovers = async (command: StockCommand, after: Reservation): Promise<void> => {
    const skus = leftoverHolds(command, after);
    if (skus.length > 0) await stock.returnHolds(command.orderId, skus, command.now);
  };

  return {
    load,
    async execute(command, { causationId } = {}) {
      const { orderId } = command;
      for (let attempt = 1; ; attempt++) {
        const { state, version } = await load(orderId);
        const effect = await stock.perform(orderId, stockWork(command, state), command.now);
        const decided = decide({ ...command, effect }, state);
        if (decided.length === 0) {
          await clearLeftovers(command, state);
          return { before: state, state, appended: [], effect };
        }
        try {
          await events.append(reservationStream(orderId), version, decided.map(toNew), {
            correlationId: orderId,
            ...(causationId ? { causationId } : {}),
            now: command.now,
          });
        } catch (err) {
          // A duplicate (or another replica) answered since we read: decide again on its answer.
          if (!(err instanceof ConcurrencyError) || attempt >= maxAttempts) throw err;
          logger.debug({ orderId, attempt, command: command.type }, 'lost an append race; deciding again');
          continue;
        }
        const after = decided.reduce(evolve, state);
        await clearLeftovers(command, after);
        return { before: state, state: after, appended: decided, effect };
      }
    },
  };
}
