import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShipmentStatus } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { Commands, readGrpcFailure, type GrpcFailure } from '../platform/index.js';
import { generatedTrackingNumber } from './grpc.js';
import { berlin, bufCurl, startShippingHarness, testNow, type ShippingHarness } from './test-harness.js';

let h: ShippingHarness;

beforeAll(async () => {
  h = await startShippingHarness();
});

afterAll(async () => {
  await h?.close();
});

const items = [{ productId: 'sku-1', quantity: 1 }];

/** Schedules (or fails, for an unserved country) an order's shipment through the saga's command. */
async function scheduled(orderId: string, country = 'DE'): Promise<void> {
  await h.send(Commands.ScheduleShipment, { orderId, customerId: 'cus_1', address: { ...berlin, country }, items });
  await h.waitForAnswers(orderId, 1);
}

async function failure(call: Promise<unknown>): Promise<GrpcFailure> {
  const err = await call.then(
    () => undefined,
    (e: ServiceError) => e,
  );
  expect(err, 'the call should fail').toBeDefined();
  return readGrpcFailure(err!);
}

describe('DispatchShipment and ConfirmDelivery', () => {
  it('record pickup and delivery, each publishing its event', async () => {
    await scheduled('ord_g1');
    const client = h.client();

    const { shipment: afterDispatch } = await client.dispatchShipment({ orderId: 'ord_g1', trackingNumber: 'TRK-0001' });
    expect(afterDispatch).toMatchObject({
      status: ShipmentStatus.SHIPMENT_STATUS_DISPATCHED,
      trackingNumber: 'TRK-0001',
      dispatchedAt: testNow,
      version: 2,
    });
    const { shipment: afterDelivery } = await client.confirmDelivery({ orderId: 'ord_g1' });
    expect(afterDelivery).toMatchObject({ status: ShipmentStatus.SHIPMENT_STATUS_DELIVERED, deliveredAt: testNow, version: 3 });

    const [, dispatched, delivered] = await h.waitForAnswers('ord_g1', 3);
    expect(dispatched).toMatchObject({
      id: 'ord_g1:ShipmentDispatched',
      type: 'ShipmentDispatched',
      data: { orderId: 'ord_g1', shipmentId: 'shp_ord_g1', trackingNumber: 'TRK-0001', occurredAt: testNow },
    });
    expect(delivered).toMatchObject({
      type: 'ShipmentDelivered',
      data: { orderId: 'ord_g1', shipmentId: 'shp_ord_g1', occurredAt: testNow },
    });

    // Repeats are answered with the shipment and change nothing.
    expect((await client.confirmDelivery({ orderId: 'ord_g1' })).shipment?.version).toBe(3);
    expect((await client.dispatchShipment({ orderId: 'ord_g1', trackingNumber: 'TRK-0001' })).shipment?.version).toBe(3);
    await h.settled();
    expect(h.answers('ord_g1')).toHaveLength(3);
  });

  it('generates a tracking number when the carrier sends none, and is idempotent for the same or no number', async () => {
    await scheduled('ord_g2');
    const client = h.client();
    const first = await client.dispatchShipment({ orderId: 'ord_g2', trackingNumber: '' });
    expect(first.shipment?.trackingNumber).toBe(generatedTrackingNumber('ord_g2'));
    expect(first.shipment?.trackingNumber).toMatch(/^OFX[0-9A-F]{12}$/);

    expect(await client.dispatchShipment({ orderId: 'ord_g2', trackingNumber: '' })).toEqual(first);
    expect(await client.dispatchShipment({ orderId: 'ord_g2', trackingNumber: first.shipment!.trackingNumber })).toEqual(first);
    const different = await failure(client.dispatchShipment({ orderId: 'ord_g2', trackingNumber: 'TRK-OTHER' }));
    expect(different).toMatchObject({ code: status.FAILED_PRECONDITION, message: expect.stringContaining('already dispatched') });

    await h.settled();
    expect(h.answers('ord_g2').map((a) => a.type)).toEqual(['ShipmentScheduled', 'ShipmentDispatched']);
  });

  it('dispatches once when two replicas get the same report at the same time', async () => {
    await scheduled('ord_g3');
    const second = h.replicas[1] ?? (await h.boot());
    const [a, b] = [h.client(), h.client(second)];
    const results = await Promise.all([
      a.dispatchShipment({ orderId: 'ord_g3', trackingNumber: '' }),
      b.dispatchShipment({ orderId: 'ord_g3', trackingNumber: '' }),
      a.dispatchShipment({ orderId: 'ord_g3', trackingNumber: '' }),
      b.dispatchShipment({ orderId: 'ord_g3', trackingNumber: '' }),
    ]);
    for (const r of results) expect(r.shipment).toMatchObject({ trackingNumber: generatedTrackingNumber('ord_g3'), version: 2 });
    await h.settled();
    expect(h.answers('ord_g3').map((a) => a.type)).toEqual(['ShipmentScheduled', 'ShipmentDispatched']);
  });

  it('refuses illegal transitions with FAILED_PRECONDITION, writing nothing', async () => {
    const client = h.client();
    await scheduled('ord_g4');
    expect(await failure(client.confirmDelivery({ orderId: 'ord_g4' }))).toMatchObject({
      code: status.FAILED_PRECONDITION,
      message: 'shipment of order "ord_g4" has not been dispatched yet',
    });

    await scheduled('ord_g5', 'JP'); // failed
    expect(await failure(client.dispatchShipment({ orderId: 'ord_g5', trackingNumber: 'T1' }))).toMatchObject({
      code: status.FAILED_PRECONDITION,
      message: 'shipment of order "ord_g5" is failed and cannot be dispatched',
    });

    await scheduled('ord_g6');
    await h.send(Commands.CancelShipment, { orderId: 'ord_g6', reason: 'customer cancelled' });
    await h.waitForAnswers('ord_g6', 2);
    expect(await failure(client.dispatchShipment({ orderId: 'ord_g6', trackingNumber: 'T1' }))).toMatchObject({
      code: status.FAILED_PRECONDITION,
      message: 'shipment of order "ord_g6" is cancelled and cannot be dispatched',
    });
    expect(await failure(client.confirmDelivery({ orderId: 'ord_g6' }))).toMatchObject({ code: status.FAILED_PRECONDITION });

    await h.settled();
    expect(h.answers('ord_g4')).toHaveLength(1);
    expect(h.answers('ord_g5')).toHaveLength(1);
    expect(h.answers('ord_g6')).toHaveLength(2);
  });

  it('answers a CancelShipment after dispatch with was_scheduled=false, logs a warning, and leaves the shipment dispatched', async () => {
    await scheduled('ord_g7');
    await h.client().dispatchShipment({ orderId: 'ord_g7', trackingNumber: 'TRK-7' });
    await h.send(Commands.CancelShipment, { orderId: 'ord_g7', reason: 'too late' });
    await h.send(Commands.CancelShipment, { orderId: 'ord_g7', reason: 'too late, again' });
    await h.settled();
    expect(h.answers('ord_g7').map((a) => a.type)).toEqual([
      'ShipmentScheduled',
      'ShipmentDispatched',
      'ShipmentCancelled',
    ]);
    expect(h.answers('ord_g7')[2]?.data).toEqual({ orderId: 'ord_g7', shipmentId: '', wasScheduled: false, occurredAt: testNow });
    expect(h.logLines).toContainEqual(
      expect.objectContaining({ level: 'warn', orderId: 'ord_g7', status: 'dispatched', msg: expect.stringContaining('after the shipment left') }),
    );
    const { shipment } = await h.client().getShipment({ orderId: 'ord_g7' });
    expect(shipment).toMatchObject({ status: ShipmentStatus.SHIPMENT_STATUS_DISPATCHED, trackingNumber: 'TRK-7' });
  });
});

describe('BatchGetShipments', () => {
  it('answers the known orders in the order asked, each once, and lists the ones without a shipment', async () => {
    await scheduled('ord_batch_de');
    await scheduled('ord_batch_jp', 'JP');
    const client = h.client();
    const { shipments, missingOrderIds } = await client.batchGetShipments({ orderIds: ['ord_batch_jp', 'ord_none', 'ord_batch_de', 'ord_batch_jp'] });
    expect(shipments.map((s) => [s.orderId, s.status])).toEqual([
      ['ord_batch_jp', ShipmentStatus.SHIPMENT_STATUS_FAILED],
      ['ord_batch_de', ShipmentStatus.SHIPMENT_STATUS_SCHEDULED],
    ]);
    expect(missingOrderIds).toEqual(['ord_none']);
    expect(shipments[1]).toEqual((await client.getShipment({ orderId: 'ord_batch_de' })).shipment);
  });

  it('rejects an over-long id, naming the field', async () => {
    expect(await failure(h.client().batchGetShipments({ orderIds: ['x'.repeat(101)] }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_ids[0]', description: 'must be at most 100 characters' }],
    });
  });
});

describe('request errors', () => {
  it('answers NOT_FOUND for an order without a shipment', async () => {
    const client = h.client();
    for (const call of [
      client.getShipment({ orderId: 'ord_unknown' }),
      client.dispatchShipment({ orderId: 'ord_unknown', trackingNumber: '' }),
      client.confirmDelivery({ orderId: 'ord_unknown' }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: status.NOT_FOUND, message: 'shipment of order "ord_unknown" not found' });
    }
  });

  it('answers INVALID_ARGUMENT naming each bad field', async () => {
    const client = h.client();
    expect(await failure(client.getShipment({ orderId: '' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_id', description: 'is required' }],
    });
    expect(await failure(client.dispatchShipment({ orderId: ' ', trackingNumber: 'T'.repeat(65) }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [
        { field: 'order_id', description: 'is required' },
        { field: 'tracking_number', description: 'must be at most 64 characters' },
      ],
    });
    expect(await failure(client.dispatchShipment({ orderId: 'ord_g1', trackingNumber: 'TRK 1' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'tracking_number', description: 'must not contain whitespace' }],
    });
    expect(await failure(client.confirmDelivery({ orderId: 'o'.repeat(201) }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_id', description: 'must be at most 200 characters' }],
    });
  });
});

describe('buf curl through reflection', () => {
  it('lists ShippingService and calls GetShipment', async () => {
    await scheduled('ord_curl');
    const address = h.replicas[0]!.grpcAddress;
    const services = await bufCurl('--list-services', `http://${address}`);
    expect(services.trim().split('\n')).toContain('orderflow.shipping.v1.ShippingService');

    const out = await bufCurl('-d', '{"order_id":"ord_curl"}', `http://${address}/orderflow.shipping.v1.ShippingService/GetShipment`);
    expect(JSON.parse(out)).toMatchObject({
      shipment: {
        shipmentId: 'shp_ord_curl',
        orderId: 'ord_curl',
        status: 'SHIPMENT_STATUS_SCHEDULED',
        carrier: 'Orderflow Express',
        address: { recipient: 'Ada Lovelace', city: 'Berlin', postalCode: '10115', country: 'DE' },
        items: [{ productId: 'sku-1', quantity: 1 }],
        scheduledAt: '2030-03-01T12:00:00Z',
        estimatedDelivery: '2030-03-04T12:00:00Z',
        version: '1',
      },
    });
  });
});
