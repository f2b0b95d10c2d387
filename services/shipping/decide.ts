// What the shipment does with each command: the saga's ScheduleShipment and CancelShipment, and
// the carrier's DispatchShipment and ConfirmDelivery (over gRPC). Pure: the clock, the policy and
// the generated tracking number arrive as parameters.
import type { Address, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import { IllegalStateError, NotFoundError } from '../platform/index.js';
import { evolve, initialState, shipmentIdFor, type Shipment, type ShipmentEvent } from './shipment.js';

/** Which addresses shipping serves and what it promises; read from the environment once. */
export interface ShippingPolicy {
  /** ISO 3166-1 alpha-2 codes, upper case. */
  countries: readonly string[];
  carrier: string;
  /** Calendar days from scheduling to the estimated delivery. */
  transitDays: number;
}

export type ShipmentCommand =
  | { type: 'ScheduleShipment'; orderId: string; customerId: string; address: Address | undefined; items: OrderItem[]; now: Date }
  | { type: 'CancelShipment'; orderId: string; reason: string; now: Date }
  | {
      type: 'DispatchShipment';
      orderId: string;
      /** What the carrier sent; empty when it sent none. */
      trackingNumber: string;
      /** Used when `trackingNumber` is empty and the shipment is dispatched now. */
      generatedTrackingNumber: string;
      now: Date;
    }
  | { type: 'ConfirmDelivery'; orderId: string; now: Date };

const DAY_MS = 86_400_000;

/** Address fields a carrier label cannot do without (line2 and region are optional). */
const requiredAddressFields = ['recipient', 'line1', 'city', 'postal_code', 'country'] as const;
const addressValue = (a: Address, field: (typeof requiredAddressFields)[number]): string =>
  field === 'postal_code' ? a.postalCode : a[field];

/** Why an address cannot be served, or undefined when it can. */
export function unservedAddressReason(address: Address | undefined, policy: ShippingPolicy): string | undefined {
  if (!address) return 'address is missing';
  const missing = requiredAddressFields.filter((f) => addressValue(address, f).trim() === '');
  if (missing.length > 0) return `address is missing ${missing.map((f) => `address.${f}`).join(', ')}`;
  const country = address.country.trim().toUpperCase();
  if (!policy.countries.includes(country)) {
    return `country ${JSON.stringify(address.country)} is not served (served: ${policy.countries.join(', ')})`;
  }
  return undefined;
}

/** The decider for a policy: `decide` throws NotFoundError / IllegalStateError for the gRPC commands. */
export function shipmentDecider(policy: ShippingPolicy) {
  const decide = (command: ShipmentCommand, state: Shipment): ShipmentEvent[] => {
    switch (command.type) {
      case 'ScheduleShipment':
        return schedule(command, state, policy);
      case 'CancelShipment':
        return cancel(command, state);
      case 'DispatchShipment':
        return dispatch(command, state);
      case 'ConfirmDelivery':
        return confirmDelivery(command, state);
      default: {
        const unexpected: never = command;
        throw new Error(`unknown shipment command ${JSON.stringify(unexpected)}`);
      }
    }
  };
  return { decide, evolve, initialState };
}

type CommandOf<T extends ShipmentCommand['type']> = Extract<ShipmentCommand, { type: T }>;

function schedule(command: CommandOf<'ScheduleShipment'>, state: Shipment, policy: ShippingPolicy): ShipmentEvent[] {
  const { orderId, now } = command;
  switch (state.status) {
    case 'none': {
      const reason = unservedAddressReason(command.address, policy);
      if (reason) return [{ type: 'ShipmentFailed', data: { orderId, reason, occurredAt: now } }];
      return [
        {
          type: 'ShipmentScheduled',
          data: {
            orderId,
            shipmentId: shipmentIdFor(orderId),
            carrier: policy.carrier,
            estimatedDelivery: new Date(now.getTime() + policy.transitDays * DAY_MS),
            occurredAt: now,
          },
        },
      ];
    }
    case 'cancelled':
      // The saga gave up on this step (timeout or customer cancellation) and its CancelShipment
      // overtook the ScheduleShipment. Booking now would leave a parcel nobody cancels; the
      // command still gets its one answer.
      if (state.booking || state.lateScheduleRefusal !== undefined) return [];
      return [{ type: 'ShipmentFailed', data: { orderId, reason: 'shipment was cancelled before it could be scheduled', occurredAt: now } }];
    case 'scheduled':
    case 'failed':
    case 'dispatched':
    case 'delivered':
      return []; // answered already: the first reply is in the stream (and the outbox)
  }
}

function cancel(command: CommandOf<'CancelShipment'>, state: Shipment): ShipmentEvent[] {
  const { orderId, now } = command;
  const nothingCancelled: ShipmentEvent = {
    type: 'ShipmentCancelled',
    data: { orderId, shipmentId: '', wasScheduled: false, occurredAt: now },
  };
  switch (state.status) {
    case 'none':
      return [nothingCancelled];
    case 'scheduled':
      return [{ type: 'ShipmentCancelled', data: { orderId, shipmentId: state.booking.shipmentId, wasScheduled: true, occurredAt: now } }];
    case 'cancelled':
      return [];
    case 'failed':
    case 'dispatched':
    case 'delivered':
      // The saga compensates only before the order completes, so a parcel already with the
      // carrier cannot be recalled from here: answer "nothing cancelled" and leave it untouched.
      return state.cancellationAnswered ? [] : [nothingCancelled];
  }
}

function dispatch(command: CommandOf<'DispatchShipment'>, state: Shipment): ShipmentEvent[] {
  const { orderId, trackingNumber, now } = command;
  switch (state.status) {
    case 'none':
      throw new NotFoundError('shipment of order', orderId);
    case 'scheduled':
      return [
        {
          type: 'ShipmentDispatched',
          data: {
            orderId,
            shipmentId: state.booking.shipmentId,
            trackingNumber: trackingNumber || command.generatedTrackingNumber,
            occurredAt: now,
          },
        },
      ];
    case 'dispatched':
    case 'delivered':
      // A carrier retrying its report is harmless; a second, different tracking number is not.
      if (trackingNumber === '' || trackingNumber === state.dispatch.trackingNumber) return [];
      throw new IllegalStateError(
        `shipment of order ${JSON.stringify(orderId)} was already dispatched with tracking number ${JSON.stringify(state.dispatch.trackingNumber)}`,
      );
    case 'failed':
    case 'cancelled':
      throw new IllegalStateError(`shipment of order ${JSON.stringify(orderId)} is ${state.status} and cannot be dispatched`);
  }
}

function confirmDelivery(command: CommandOf<'ConfirmDelivery'>, state: Shipment): ShipmentEvent[] {
  const { orderId, now } = command;
  switch (state.status) {
    case 'none':
      throw new NotFoundError('shipment of order', orderId);
    case 'dispatched':
      return [{ type: 'ShipmentDelivered', data: { orderId, shipmentId: state.booking.shipmentId, occurredAt: now } }];
    case 'delivered':
      return [];
    case 'scheduled':
      throw new IllegalStateError(`shipment of order ${JSON.stringify(orderId)} has not been dispatched yet`);
    case 'failed':
    case 'cancelled':
      throw new IllegalStateError(`shipment of order ${JSON.stringify(orderId)} is ${state.status} and cannot be delivered`);
  }
}
