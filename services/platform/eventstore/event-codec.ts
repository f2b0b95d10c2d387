import { decodeMessage, newEvent, type Contract, type MessageOf } from '../contracts.js';
import type { NewEvent, StoredEvent } from './types.js';

/** An aggregate's event as its decider sees it: a short type name and the decoded message. */
export type DomainEventOf<Table extends Record<string, Contract<unknown>>> = {
  [K in keyof Table & string]: { type: K; data: MessageOf<Table[K]> };
}[keyof Table & string];

/** Converts between an aggregate's domain events and the event store's encoded events. */
export interface EventCodec<E extends { type: string; data: unknown }> {
  /** Decodes a stored event; an event type the aggregate does not know is a bug, so it throws. */
  fromStored(stored: StoredEvent): E;
  /** Encodes a domain event; `id` defaults to a fresh UUID. */
  toNew(event: E, id?: string): NewEvent;
}

/**
 * Builds the codec of an aggregate from the table of its events' contracts, e.g.
 * `eventCodec({ PaymentCaptured: Events.PaymentCaptured, ... })`, so no service writes the
 * type-name switch by hand.
 */
export function eventCodec<Table extends Record<string, Contract<unknown>>>(table: Table): EventCodec<DomainEventOf<Table>> {
  const nameByType = new Map(Object.entries(table).map(([name, contract]) => [contract.type, name]));
  return {
    fromStored(stored) {
      const name = nameByType.get(stored.type);
      if (!name) throw new Error(`unexpected event ${stored.type} at ${stored.streamId}@${stored.version}`);
      return { type: name, data: decodeMessage(stored.type, stored.data) } as DomainEventOf<Table>;
    },
    toNew(event, id) {
      const contract = table[event.type];
      if (!contract) throw new Error(`no contract for event ${event.type}`);
      return newEvent(contract, event.data, id);
    },
  };
}
