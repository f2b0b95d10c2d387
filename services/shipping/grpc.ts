// ShippingService: reads a shipment and records the carrier's reports (pickup, delivery). The
// reports go through the same decider and append rule as the saga's commands.
import { createHash } from 'node:crypto';
import {
  ShipmentStatus,
  ShippingServiceService,
  type Shipment as ShipmentMessage,
} from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { implement, mayAccess, NotFoundError, Violations, type Caller, type Logger, type ServiceBinding } from '../platform/index.js';
import type { Shipment } from './shipment.js';
import type { LoadedShipment, Shipments } from './shipments.js';

/** Longest tracking number accepted; carriers' numbers are far shorter. */
export const maxTrackingNumberLength = 64;

/**
 * The tracking number used when the carrier sent none. Derived from the order id, so two
 * replicas racing on the same report would pick the same number anyway.
 */
export function generatedTrackingNumber(orderId: string): string {
  return `OFX${createHash('sha256').update(orderId).digest('hex').slice(0, 12).toUpperCase()}`;
}

const statusOf: Record<Shipment['status'], ShipmentStatus> = {
  none: ShipmentStatus.SHIPMENT_STATUS_UNSPECIFIED,
  scheduled: ShipmentStatus.SHIPMENT_STATUS_SCHEDULED,
  failed: ShipmentStatus.SHIPMENT_STATUS_FAILED,
  cancelled: ShipmentStatus.SHIPMENT_STATUS_CANCELLED,
  dispatched: ShipmentStatus.SHIPMENT_STATUS_DISPATCHED,
  delivered: ShipmentStatus.SHIPMENT_STATUS_DELIVERED,
};

/** The API's view of a shipment; NOT_FOUND when the order has none. */
export function toShipmentMessage(orderId: string, loaded: LoadedShipment): ShipmentMessage {
  const { state, version, parcel } = loaded;
  if (state.status === 'none') throw new NotFoundError('shipment of order', orderId);
  const booking = state.status === 'failed' ? undefined : state.booking;
  const dispatch = state.status === 'dispatched' || state.status === 'delivered' ? state.dispatch : undefined;
  const failureReason =
    state.status === 'failed' ? state.reason : state.status === 'cancelled' ? (state.lateScheduleRefusal ?? '') : '';
  return {
    shipmentId: booking?.shipmentId ?? '',
    orderId: state.orderId,
    status: statusOf[state.status],
    address: parcel?.address,
    items: parcel?.items ?? [],
    carrier: booking?.carrier ?? '',
    trackingNumber: dispatch?.trackingNumber ?? '',
    failureReason,
    scheduledAt: booking?.scheduledAt,
    estimatedDelivery: booking?.estimatedDelivery,
    dispatchedAt: dispatch?.dispatchedAt,
    deliveredAt: state.status === 'delivered' ? state.deliveredAt : undefined,
    cancelledAt: state.status === 'cancelled' ? state.cancelledAt : undefined,
    version,
  };
}

/** Whether the caller may see the shipment: an admin, or the customer it goes to (another's is NOT_FOUND). */
function visible(caller: Caller, loaded: LoadedShipment): boolean {
  return loaded.state.status !== 'none' && mayAccess(caller, loaded.parcel?.customerId ?? '');
}

function validOrderId(violations: Violations, orderId: string): Violations {
  return violations.text('order_id', orderId);
}

/** The ShippingService binding; `now` is the clock. */
export function shippingGrpc(shipments: Shipments, now: () => Date, logger: Logger): ServiceBinding {
  return {
    definition: ShippingServiceService,
    implementation: implement(
      ShippingServiceService,
      {
        async getShipment(request, ctx) {
          validOrderId(new Violations(), request.orderId).throwIfAny();
          const loaded = await shipments.load(request.orderId);
          if (!visible(ctx.caller, loaded)) throw new NotFoundError('shipment of order', request.orderId);
          return { shipment: toShipmentMessage(request.orderId, loaded) };
        },

        async batchGetShipments(request, ctx) {
          new Violations().idList('order_ids', request.orderIds).throwIfAny();
          const ids = [...new Set(request.orderIds)];
          // One call for many orders; each shipment is folded from its own stream, as GetShipment does.
          const loaded = await Promise.all(ids.map((orderId) => shipments.load(orderId)));
          const found = new Map<string, ReturnType<typeof toShipmentMessage>>();
          loaded.forEach((shipment, i) => {
            if (visible(ctx.caller, shipment)) found.set(ids[i]!, toShipmentMessage(ids[i]!, shipment));
          });
          return { shipments: ids.flatMap((id) => found.get(id) ?? []), missingOrderIds: ids.filter((id) => !found.has(id)) };
        },

        async dispatchShipment(request) {
          const violations = validOrderId(new Violations(), request.orderId);
          if (request.trackingNumber !== '') {
            violations.text('tracking_number', request.trackingNumber, {
              maxLength: maxTrackingNumberLength,
              pattern: /^\S+$/,
              patternHint: 'must not contain whitespace',
            });
          }
          violations.throwIfAny();
          const outcome = await shipments.execute({
            type: 'DispatchShipment',
            orderId: request.orderId,
            trackingNumber: request.trackingNumber,
            generatedTrackingNumber: generatedTrackingNumber(request.orderId),
            now: now(),
          });
          return { shipment: toShipmentMessage(request.orderId, outcome) };
        },

        async confirmDelivery(request) {
          validOrderId(new Violations(), request.orderId).throwIfAny();
          const outcome = await shipments.execute({ type: 'ConfirmDelivery', orderId: request.orderId, now: now() });
          return { shipment: toShipmentMessage(request.orderId, outcome) };
        },
      },
      logger,
    ),
  };
}
