// Runs shipment commands against the event store: read the stream, fold, decide, append at the
// version read. Saga commands (NATS) and carrier reports (gRPC) both come through here, so every
// path shares one decider and one concurrency rule.
import type { Address, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import {
  eventCodec,
  ConcurrencyError,
  DuplicateKeyError,
  Events,
  type DocumentStore,
  type EventStore,
  type Logger,
  type NewEvent,
  type StoredEvent,
} from '../platform/index.js';
import { shipmentDecider, type ShipmentCommand, type ShippingPolicy } from './decide.js';
import { evolve, initialState, shipmentStream, type Shipment, type ShipmentEvent } from './shipment.js';

/**
 * What the parcel holds and where it goes, as ScheduleShipment carried it. The integration
 * events do not carry the address or items, so they are kept beside the stream (first write
 * wins; duplicates of a command carry the same content) for GetShipment to show.
 */
export interface ParcelDocument {
  [key: string]: unknown;
  /** The order id. */
  _id: string;
  customerId: string;
  address: Address | undefined;
  items: OrderItem[];
}

/** A shipment as folded from its stream, with its stream version and parcel. */
export interface LoadedShipment {
  state: Shipment;
  /** The stream version the state reflects; 0 when the stream does not exist. */
  version: number;
  parcel: ParcelDocument | null;
}

/** The outcome of a command: the state after it, and the events it appended (none when it was a repeat). */
export interface Executed extends LoadedShipment {
  appended: ShipmentEvent[];
}

export interface ShipmentsOptions {
  events: EventStore;
  store: DocumentStore;
  policy: ShippingPolicy;
  logger: Logger;
  /** Attempts before a command that keeps losing concurrency races gives up (and is retried by its caller). Default 5. */
  maxAttempts?: number;
}

export interface Shipments {
  load(orderId: string): Promise<LoadedShipment>;
  /** Decides and appends once per order however often it runs; throws the decider's errors. */
  execute(command: ShipmentCommand, options?: { causationId?: string }): Promise<Executed>;
}

/** The aggregate's events and their contracts: the codec between decider and event store. */
const codec = eventCodec({
  ShipmentScheduled: Events.ShipmentScheduled,
  ShipmentFailed: Events.ShipmentFailed,
  ShipmentCancelled: Events.ShipmentCancelled,
  ShipmentDispatched: Events.ShipmentDispatched,
  ShipmentDelivered: Events.ShipmentDelivered,
});

/**
 * Each event type occurs at most once in a shipment's stream, so `<orderId>:<type>` is a stable id:
 * a reply appended, relayed and then re-relayed after a crash is absorbed by JetStream.
 */
const toNew = (orderId: string, event: ShipmentEvent): NewEvent => codec.toNew(event, `${orderId}:${event.type}`);
const fromStored = (stored: StoredEvent): ShipmentEvent => codec.fromStored(stored);

export function createShipments(options: ShipmentsOptions): Shipments {
  const { events, logger } = options;
  const decider = shipmentDecider(options.policy);
  const parcels = options.store.collection<ParcelDocument>('shipment_parcels');
  const maxAttempts = options.maxAttempts ?? 5;

  const fold = async (orderId: string): Promise<{ state: Shipment; version: number }> => {
    const stored = await events.readStream(shipmentStream(orderId));
    return { state: stored.map(fromStored).reduce(evolve, initialState()), version: stored.at(-1)?.version ?? 0 };
  };

  const keepParcel = async (command: Extract<ShipmentCommand, { type: 'ScheduleShipment' }>): Promise<void> => {
    try {
      await parcels.insertOne({ _id: command.orderId, customerId: command.customerId, address: command.address, items: command.items });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err; // a duplicate command or a racing replica wrote it
    }
  };

  return {
    async load(orderId) {
      const [folded, parcel] = await Promise.all([fold(orderId), parcels.findOne({ _id: orderId })]);
      return { ...folded, parcel };
    },

    async execute(command, { causationId } = {}) {
      const { orderId } = command;
      for (let attempt = 1; ; attempt++) {
        const { state, version } = await fold(orderId);
        const decided = decider.decide(command, state);
        if (decided.length === 0) {
          return { state, version, parcel: await parcels.findOne({ _id: orderId }), appended: [] };
        }
        // Written before the events, so a shipment that exists always has its parcel.
        if (command.type === 'ScheduleShipment') await keepParcel(command);
        try {
          const result = await events.append(
            shipmentStream(orderId),
            version,
            decided.map((e) => toNew(orderId, e)),
            { correlationId: orderId, ...(causationId ? { causationId } : {}), now: command.now },
          );
          const after = decided.reduce(evolve, state);
          return { state: after, version: result.version, parcel: await parcels.findOne({ _id: orderId }), appended: decided };
        } catch (err) {
          // Another replica (or a duplicate) appended since we read: decide again on its result.
          if (!(err instanceof ConcurrencyError) || attempt >= maxAttempts) throw err;
          logger.debug({ orderId, attempt, command: command.type }, 'lost an append race; deciding again');
        }
      }
    },
  };
}
