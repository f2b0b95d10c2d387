import { describe, expect, it } from 'vitest';
import type { Address } from '../../generated/orderflow/common/v1/common.js';
import { IllegalStateError, NotFoundError } from '../platform/index.js';
import { deciderSpec } from '../platform/testing/index.js';
import { shipmentDecider, unservedAddressReason, type ShipmentCommand, type ShippingPolicy } from './decide.js';
import type { ShipmentEvent } from './shipment.js';

const policy: ShippingPolicy = { countries: ['DE', 'FR', 'US'], carrier: 'Orderflow Express', transitDays: 3 };
const spec = deciderSpec(shipmentDecider(policy));

const orderId = 'ord_1';
const t0 = new Date('2030-01-01T10:00:00.000Z');
const t1 = new Date('2030-01-02T09:00:00.000Z');
const t2 = new Date('2030-01-03T15:30:00.000Z');
const address: Address = {
  recipient: 'Ada Lovelace',
  line1: 'Hauptstr. 1',
  line2: '',
  city: 'Berlin',
  region: '',
  postalCode: '10115',
  country: 'DE',
};

const schedule = (overrides: Partial<Extract<ShipmentCommand, { type: 'ScheduleShipment' }>> = {}): ShipmentCommand => ({
  type: 'ScheduleShipment',
  orderId,
  customerId: 'cus_1',
  address,
  items: [{ productId: 'sku-1', quantity: 2 }],
  now: t0,
  ...overrides,
});
const cancel: ShipmentCommand = { type: 'CancelShipment', orderId, reason: 'payment declined', now: t1 };
const dispatch = (trackingNumber = 'TRK-1'): ShipmentCommand => ({
  type: 'DispatchShipment',
  orderId,
  trackingNumber,
  generatedTrackingNumber: 'OFXGENERATED',
  now: t1,
});
const confirm: ShipmentCommand = { type: 'ConfirmDelivery', orderId, now: t2 };

const scheduled: ShipmentEvent = {
  type: 'ShipmentScheduled',
  data: {
    orderId,
    shipmentId: 'shp_ord_1',
    carrier: 'Orderflow Express',
    estimatedDelivery: new Date('2030-01-04T10:00:00.000Z'),
    occurredAt: t0,
  },
};
const failed = (reason: string, occurredAt = t0): ShipmentEvent => ({ type: 'ShipmentFailed', data: { orderId, reason, occurredAt } });
const cancelled = (wasScheduled: boolean): ShipmentEvent => ({
  type: 'ShipmentCancelled',
  data: { orderId, shipmentId: wasScheduled ? 'shp_ord_1' : '', wasScheduled, occurredAt: t1 },
});
const dispatched = (trackingNumber = 'TRK-1'): ShipmentEvent => ({
  type: 'ShipmentDispatched',
  data: { orderId, shipmentId: 'shp_ord_1', trackingNumber, occurredAt: t1 },
});
const delivered: ShipmentEvent = { type: 'ShipmentDelivered', data: { orderId, shipmentId: 'shp_ord_1', occurredAt: t2 } };

describe('when no shipment exists', () => {
  it('schedules a served address with the configured carrier, due transitDays later', () => {
    spec.given([]).when(schedule()).then([scheduled]);
  });

  it('accepts a lower-case country code', () => {
    spec.given([]).when(schedule({ address: { ...address, country: 'fr' } })).then([{ ...scheduled }]);
  });

  it('fails an address in a country it does not serve, naming the country', () => {
    spec
      .given([])
      .when(schedule({ address: { ...address, country: 'JP' } }))
      .then([failed('country "JP" is not served (served: DE, FR, US)')]);
  });

  it('fails an address missing required fields, naming each', () => {
    spec
      .given([])
      .when(schedule({ address: { ...address, line1: ' ', postalCode: '' } }))
      .then([failed('address is missing address.line1, address.postal_code')]);
  });

  it('fails a command without an address', () => {
    spec.given([]).when(schedule({ address: undefined })).then([failed('address is missing')]);
  });

  it('answers a cancellation with was_scheduled=false', () => {
    spec.given([]).when(cancel).then([cancelled(false)]);
  });

  it('rejects carrier reports for an unknown order with NotFoundError', () => {
    spec.given([]).when(dispatch()).thenThrows(NotFoundError, 'shipment of order "ord_1" not found');
    spec.given([]).when(confirm).thenThrows(NotFoundError);
  });
});

describe('when scheduled', () => {
  it('ignores a repeated ScheduleShipment: it was answered already', () => {
    spec.given([scheduled]).when(schedule({ now: t2 })).then([]);
  });

  it('cancels the shipment with was_scheduled=true', () => {
    spec.given([scheduled]).when(cancel).then([cancelled(true)]);
  });

  it('dispatches with the carrier tracking number, or a generated one when none is given', () => {
    spec.given([scheduled]).when(dispatch('TRK-1')).then([dispatched('TRK-1')]);
    spec.given([scheduled]).when(dispatch('')).then([dispatched('OFXGENERATED')]);
  });

  it('refuses a delivery before dispatch', () => {
    spec.given([scheduled]).when(confirm).thenThrows(IllegalStateError, /not been dispatched/);
  });
});

describe('when scheduling failed', () => {
  it('ignores a repeated ScheduleShipment', () => {
    spec.given([failed('country "JP" is not served')]).when(schedule()).then([]);
  });

  it('answers one cancellation with was_scheduled=false, then nothing', () => {
    spec.given([failed('x')]).when(cancel).then([cancelled(false)]);
    spec.given([failed('x'), cancelled(false)]).when(cancel).then([]);
    spec.given([failed('x'), cancelled(false)]).when(cancel).thenState((s) => expect(s.status).toBe('failed'));
  });

  it('cannot be dispatched or delivered', () => {
    spec.given([failed('x')]).when(dispatch()).thenThrows(IllegalStateError, /is failed and cannot be dispatched/);
    spec.given([failed('x')]).when(confirm).thenThrows(IllegalStateError);
  });
});

describe('when cancelled', () => {
  it('ignores a repeated cancellation', () => {
    spec.given([scheduled, cancelled(true)]).when(cancel).then([]);
    spec.given([cancelled(false)]).when(cancel).then([]);
  });

  it('ignores a repeated ScheduleShipment after a scheduled shipment was cancelled', () => {
    spec.given([scheduled, cancelled(true)]).when(schedule()).then([]);
  });

  it('refuses, once, a ScheduleShipment that the cancellation overtook', () => {
    const refusal = failed('shipment was cancelled before it could be scheduled', t2);
    spec.given([cancelled(false)]).when(schedule({ now: t2 })).then([refusal]);
    spec.given([cancelled(false), refusal]).when(schedule()).then([]);
    spec.given([cancelled(false)]).when(schedule({ now: t2 })).thenState((s) => expect(s.status).toBe('cancelled'));
  });

  it('cannot be dispatched or delivered', () => {
    spec.given([scheduled, cancelled(true)]).when(dispatch()).thenThrows(IllegalStateError, /is cancelled and cannot be dispatched/);
    spec.given([cancelled(false)]).when(dispatch()).thenThrows(IllegalStateError);
    spec.given([scheduled, cancelled(true)]).when(confirm).thenThrows(IllegalStateError, /cannot be delivered/);
  });
});

describe('when dispatched', () => {
  const given = [scheduled, dispatched('TRK-1')];

  it('treats a repeated report with the same or no tracking number as done', () => {
    spec.given(given).when(dispatch('TRK-1')).then([]);
    spec.given(given).when(dispatch('')).then([]);
  });

  it('refuses a different tracking number', () => {
    spec.given(given).when(dispatch('TRK-2')).thenThrows(IllegalStateError, /already dispatched with tracking number "TRK-1"/);
  });

  it('confirms delivery', () => {
    spec.given(given).when(confirm).then([delivered]);
  });

  it('answers one cancellation with was_scheduled=false and leaves the shipment dispatched', () => {
    spec.given(given).when(cancel).then([cancelled(false)]);
    spec.given(given).when(cancel).thenState((s) => expect(s).toMatchObject({ status: 'dispatched', cancellationAnswered: true }));
    spec.given([...given, cancelled(false)]).when(cancel).then([]);
  });

  it('ignores a late ScheduleShipment', () => {
    spec.given(given).when(schedule()).then([]);
  });
});

describe('when delivered', () => {
  const given = [scheduled, dispatched('TRK-1'), delivered];

  it('treats a repeated delivery or dispatch report as done', () => {
    spec.given(given).when(confirm).then([]);
    spec.given(given).when(dispatch('')).then([]);
    spec.given(given).when(dispatch('TRK-9')).thenThrows(IllegalStateError);
  });

  it('answers one cancellation with was_scheduled=false and stays delivered', () => {
    spec.given(given).when(cancel).then([cancelled(false)]);
    spec.given([...given, cancelled(false)]).when(cancel).then([]);
    spec.given([...given, cancelled(false)]).when(confirm).thenState((s) => expect(s.status).toBe('delivered'));
  });

  it('keeps the cancellation answer across delivery', () => {
    spec.given([scheduled, dispatched('TRK-1'), cancelled(false), delivered]).when(cancel).then([]);
  });
});

describe('unservedAddressReason', () => {
  it('is undefined for a complete address in a served country', () => {
    expect(unservedAddressReason(address, policy)).toBeUndefined();
  });
});
