// The Shipment aggregate: one per order, event-sourced in the stream `shipment-<orderId>`.
// Its events are the integration events shipping publishes, so the stream is also the outbox of
// every reply the saga and the carrier-facing API get.
import type {
  ShipmentCancelled,
  ShipmentDelivered,
  ShipmentDispatched,
  ShipmentFailed,
  ShipmentScheduled,
} from '../../generated/orderflow/shipping/v1/events.js';

/** The event stream of one order's shipment. */
export const shipmentStream = (orderId: string): string => `shipment-${orderId}`;

/** The shipment id of an order: deterministic, so replicas and retries agree on it. */
export const shipmentIdFor = (orderId: string): string => `shp_${orderId}`;

export type ShipmentEvent =
  | { type: 'ShipmentScheduled'; data: ShipmentScheduled }
  | { type: 'ShipmentFailed'; data: ShipmentFailed }
  | { type: 'ShipmentCancelled'; data: ShipmentCancelled }
  | { type: 'ShipmentDispatched'; data: ShipmentDispatched }
  | { type: 'ShipmentDelivered'; data: ShipmentDelivered };

export type ShipmentEventType = ShipmentEvent['type'];

/** What scheduling booked. */
export interface Booking {
  shipmentId: string;
  carrier: string;
  scheduledAt: Date;
  estimatedDelivery: Date;
}

/** What the carrier reported at pickup. */
export interface Dispatch {
  trackingNumber: string;
  dispatchedAt: Date;
}

/**
 * Where one order's shipment stands. Besides the status, the state remembers which saga command
 * has been answered already, because each one is answered exactly once per order: a late
 * ScheduleShipment after a cancellation, or a CancelShipment after a failure or after dispatch,
 * gets its one answer without changing the shipment.
 */
export type Shipment =
  | { status: 'none' }
  | { status: 'scheduled'; orderId: string; booking: Booking }
  | {
      status: 'failed';
      orderId: string;
      reason: string;
      failedAt: Date;
      /** A CancelShipment was answered (with was_scheduled=false). */
      cancellationAnswered: boolean;
    }
  | {
      status: 'cancelled';
      orderId: string;
      /** Absent when the cancellation arrived before anything was scheduled. */
      booking: Booking | undefined;
      cancelledAt: Date;
      /** Set when a ScheduleShipment arrived after the cancellation and was refused. */
      lateScheduleRefusal: string | undefined;
    }
  | {
      status: 'dispatched';
      orderId: string;
      booking: Booking;
      dispatch: Dispatch;
      /** A CancelShipment was answered (refused: the parcel had left). */
      cancellationAnswered: boolean;
    }
  | {
      status: 'delivered';
      orderId: string;
      booking: Booking;
      dispatch: Dispatch;
      deliveredAt: Date;
      cancellationAnswered: boolean;
    };

export type ShipmentStatus = Shipment['status'];

export const initialState = (): Shipment => ({ status: 'none' });

// Timestamps are required on every event shipping writes; the epoch stands in only for a
// malformed stored event, so folding never throws.
const at = (d: Date | undefined): Date => d ?? new Date(0);

/** Folds one event into the state. Events that do not apply to the state leave it unchanged. */
export function evolve(state: Shipment, event: ShipmentEvent): Shipment {
  switch (event.type) {
    case 'ShipmentScheduled': {
      if (state.status !== 'none') return state;
      const { orderId, shipmentId, carrier, estimatedDelivery, occurredAt } = event.data;
      return {
        status: 'scheduled',
        orderId,
        booking: { shipmentId, carrier, scheduledAt: at(occurredAt), estimatedDelivery: at(estimatedDelivery) },
      };
    }
    case 'ShipmentFailed': {
      const { orderId, reason, occurredAt } = event.data;
      if (state.status === 'none') return { status: 'failed', orderId, reason, failedAt: at(occurredAt), cancellationAnswered: false };
      if (state.status === 'cancelled') return { ...state, lateScheduleRefusal: reason };
      return state;
    }
    case 'ShipmentCancelled': {
      const { orderId, occurredAt } = event.data;
      switch (state.status) {
        case 'none':
          return { status: 'cancelled', orderId, booking: undefined, cancelledAt: at(occurredAt), lateScheduleRefusal: undefined };
        case 'scheduled':
          return { status: 'cancelled', orderId, booking: state.booking, cancelledAt: at(occurredAt), lateScheduleRefusal: undefined };
        case 'failed':
        case 'dispatched':
        case 'delivered':
          return { ...state, cancellationAnswered: true };
        case 'cancelled':
          return state;
      }
    }
    case 'ShipmentDispatched': {
      if (state.status !== 'scheduled') return state;
      const { trackingNumber, occurredAt } = event.data;
      return {
        status: 'dispatched',
        orderId: state.orderId,
        booking: state.booking,
        dispatch: { trackingNumber, dispatchedAt: at(occurredAt) },
        cancellationAnswered: false,
      };
    }
    case 'ShipmentDelivered': {
      if (state.status !== 'dispatched') return state;
      return { ...state, status: 'delivered', deliveredAt: at(event.data.occurredAt) };
    }
    default: {
      const unexpected: never = event;
      throw new Error(`unknown shipment event ${JSON.stringify(unexpected)}`);
    }
  }
}
