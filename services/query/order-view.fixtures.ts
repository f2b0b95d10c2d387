// Order histories for the read-side tests, as the projection receives them: ids as the event
// store names events (`<stream>@<version>`), payloads as published. Expectations are read off
// the events by hand, not computed with the production fold.
import { CancellationReason, OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { encodeMessage, Events, type Contract } from '../platform/index.js';
import type { OrderViewState, ViewEvent } from './order-view.js';

export const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, s));
export const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });

/** One event of `orderId`, the `version`th of its stream `<stream>-<orderId>`, at second `second`. */
export function viewEvent<T>(orderId: string, contract: Contract<T>, value: Partial<T>, stream: 'order' | 'payment' | 'shipment', version: number, second: number): ViewEvent {
  const data = (contract.codec as { fromPartial(v: Partial<T>): T }).fromPartial({ ...value, orderId, occurredAt: at(second) } as Partial<T>);
  return {
    id: `${stream}-${orderId}@${version}`,
    type: contract.type,
    version: stream === 'order' ? version : 0,
    occurredAt: at(second),
    data: Buffer.from(encodeMessage(contract, data)).toString('base64'),
  };
}

/** An order charged, then cancelled when its shipment failed, and refunded. */
export function cancelledHistory(orderId: string): ViewEvent[] {
  const ev = <T>(contract: Contract<T>, value: Partial<T>, stream: 'order' | 'payment' | 'shipment', version: number, second: number) =>
    viewEvent(orderId, contract, value, stream, version, second);
  const failed = CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED;
  return [
    ev(Events.OrderPlaced, { customerId: 'c1', customerEmail: 'a@b.c', total: eur(900), subtotal: eur(900) }, 'order', 1, 0),
    ev(Events.OrderStepStarted, { step: 'reserve_stock' }, 'order', 2, 1),
    ev(Events.OrderStepSucceeded, { step: 'reserve_stock' }, 'order', 3, 2),
    ev(Events.OrderStepStarted, { step: 'charge_payment' }, 'order', 4, 3),
    ev(Events.PaymentCaptured, { amount: eur(900) }, 'payment', 1, 4),
    ev(Events.OrderStepSucceeded, { step: 'charge_payment' }, 'order', 5, 5),
    ev(Events.OrderStepStarted, { step: 'schedule_shipment' }, 'order', 6, 6),
    ev(Events.ShipmentFailed, { reason: 'JP not served' }, 'shipment', 1, 7),
    ev(Events.OrderStepFailed, { step: 'schedule_shipment', reason: failed }, 'order', 7, 7),
    ev(Events.OrderCompensationStarted, { reason: failed }, 'order', 8, 8),
    ev(Events.PaymentRefunded, { amount: eur(900) }, 'payment', 2, 9),
    ev(Events.OrderCancelled, { reason: failed, detail: 'JP not served' }, 'order', 9, 10),
  ];
}

/** The view of `cancelledHistory`, read off its events. */
export const cancelledView: Partial<OrderViewState> = {
  customerId: 'c1',
  status: OrderStatus.ORDER_STATUS_CANCELLED,
  version: 9,
  paymentStatus: 'REFUNDED',
  shipmentStatus: 'FAILED',
  capturedMinor: 900,
  refundedMinor: 900,
  cancellationReason: CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED,
  cancellationDetail: 'JP not served',
  placedAt: at(0),
  updatedAt: at(10),
};
