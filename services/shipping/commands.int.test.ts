import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShipmentStatus } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { Commands, createEventStore, listDeadLetters, silentLogger } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { shipmentStream } from './shipment.js';
import { berlin, startShippingHarness, testNow, type ShippingHarness } from './test-harness.js';

let h: ShippingHarness;

beforeAll(async () => {
  h = await startShippingHarness();
});

afterAll(async () => {
  await h?.close();
});

const items = [{ productId: 'sku-1', quantity: 2 }];
const schedule = (orderId: string, address = berlin) => ({ orderId, customerId: 'cus_1', address, items });
const cancel = (orderId: string) => ({ orderId, reason: 'payment declined' });

/** The types of the events in an order's shipment stream, read from the store. */
async function streamTypes(orderId: string): Promise<string[]> {
  const events = createEventStore({ store: h.store, logger: silentLogger() });
  return (await events.readStream(shipmentStream(orderId))).map((e) => e.type.split('.').at(-1)!);
}

describe('ScheduleShipment', () => {
  it('answers ShipmentScheduled for a served address, with carrier and estimated delivery', async () => {
    const commandId = await h.send(Commands.ScheduleShipment, schedule('ord_s1'));
    const [answer] = await h.waitForAnswers('ord_s1', 1);
    expect(answer).toEqual({
      id: 'ord_s1:ShipmentScheduled',
      type: 'ShipmentScheduled',
      correlationId: 'ord_s1',
      causationId: commandId,
      data: {
        orderId: 'ord_s1',
        shipmentId: 'shp_ord_s1',
        carrier: 'Orderflow Express',
        estimatedDelivery: new Date('2030-03-04T12:00:00.000Z'),
        occurredAt: testNow,
      },
    });
    const { shipment } = await h.client().getShipment({ orderId: 'ord_s1' });
    expect(shipment).toMatchObject({
      orderId: 'ord_s1',
      shipmentId: 'shp_ord_s1',
      status: ShipmentStatus.SHIPMENT_STATUS_SCHEDULED,
      address: berlin,
      items,
      carrier: 'Orderflow Express',
      scheduledAt: testNow,
      version: 1,
    });
  });

  it('answers ShipmentFailed naming the country it does not serve', async () => {
    await h.send(Commands.ScheduleShipment, schedule('ord_s2', { ...berlin, country: 'JP' }));
    const [answer] = await h.waitForAnswers('ord_s2', 1);
    expect(answer?.type).toBe('ShipmentFailed');
    expect(answer?.data).toEqual({
      orderId: 'ord_s2',
      reason: 'country "JP" is not served (served: DE, FR, NL, BE, AT, IT, ES, GB, US)',
      occurredAt: testNow,
    });
    const { shipment } = await h.client().getShipment({ orderId: 'ord_s2' });
    expect(shipment).toMatchObject({ status: ShipmentStatus.SHIPMENT_STATUS_FAILED, failureReason: expect.stringContaining('"JP"'), shipmentId: '' });
  });

  it('answers ShipmentFailed naming the missing address fields', async () => {
    await h.send(Commands.ScheduleShipment, schedule('ord_s3', { ...berlin, postalCode: '', city: '' }));
    const [answer] = await h.waitForAnswers('ord_s3', 1);
    expect(answer?.type).toBe('ShipmentFailed');
    expect(answer?.data.reason).toBe('address is missing address.city, address.postal_code');
  });
});

describe('CancelShipment', () => {
  it('cancels a scheduled shipment: was_scheduled=true', async () => {
    await h.send(Commands.ScheduleShipment, schedule('ord_c1'));
    await h.waitForAnswers('ord_c1', 1);
    await h.send(Commands.CancelShipment, cancel('ord_c1'));
    const [, answer] = await h.waitForAnswers('ord_c1', 2);
    expect(answer?.type).toBe('ShipmentCancelled');
    expect(answer?.data).toEqual({ orderId: 'ord_c1', shipmentId: 'shp_ord_c1', wasScheduled: true, occurredAt: testNow });
    const { shipment } = await h.client().getShipment({ orderId: 'ord_c1' });
    expect(shipment).toMatchObject({ status: ShipmentStatus.SHIPMENT_STATUS_CANCELLED, cancelledAt: testNow, version: 2 });
  });

  it('answers was_scheduled=false when nothing was scheduled, and refuses the ScheduleShipment it overtook', async () => {
    await h.send(Commands.CancelShipment, cancel('ord_c2'));
    const [answer] = await h.waitForAnswers('ord_c2', 1);
    expect(answer?.type).toBe('ShipmentCancelled');
    expect(answer?.data).toEqual({ orderId: 'ord_c2', shipmentId: '', wasScheduled: false, occurredAt: testNow });

    await h.send(Commands.ScheduleShipment, schedule('ord_c2'));
    const [, late] = await h.waitForAnswers('ord_c2', 2);
    expect(late?.type).toBe('ShipmentFailed');
    expect(late?.data.reason).toBe('shipment was cancelled before it could be scheduled');
    const { shipment } = await h.client().getShipment({ orderId: 'ord_c2' });
    expect(shipment?.status).toBe(ShipmentStatus.SHIPMENT_STATUS_CANCELLED);
  });
});

describe('duplicates and replicas', () => {
  it('acts once on every command delivered twice', async () => {
    for (let i = 0; i < 2; i++) {
      await h.send(Commands.ScheduleShipment, schedule('ord_d1'));
      await h.send(Commands.ScheduleShipment, schedule('ord_d2', { ...berlin, country: 'JP' }));
      await h.send(Commands.CancelShipment, cancel('ord_d3'));
    }
    await h.settled();
    expect(h.answers('ord_d1').map((a) => a.type)).toEqual(['ShipmentScheduled']);
    expect(h.answers('ord_d2').map((a) => a.type)).toEqual(['ShipmentFailed']);
    expect(h.answers('ord_d3').map((a) => a.type)).toEqual(['ShipmentCancelled']);

    for (let i = 0; i < 2; i++) await h.send(Commands.CancelShipment, cancel('ord_d1'));
    await h.settled();
    expect(h.answers('ord_d1').map((a) => a.type)).toEqual(['ShipmentScheduled', 'ShipmentCancelled']);
    expect(await streamTypes('ord_d1')).toEqual(['ShipmentScheduled', 'ShipmentCancelled']);
  });

  it('acts once per order when two replicas share the commands', async () => {
    const second = await h.boot();
    const orders = Array.from({ length: 20 }, (_, i) => `ord_r${i}`);
    // Three copies of each command, interleaved, so both replicas hold copies of one order at once.
    for (let copy = 0; copy < 3; copy++) {
      await Promise.all(orders.map((o) => h.send(Commands.ScheduleShipment, schedule(o))));
    }
    await h.settled();
    for (let copy = 0; copy < 3; copy++) {
      await Promise.all(orders.map((o) => h.send(Commands.CancelShipment, cancel(o))));
    }
    await h.settled();
    for (const o of orders) {
      expect(h.answers(o).map((a) => a.type), o).toEqual(['ShipmentScheduled', 'ShipmentCancelled']);
      expect(await streamTypes(o), o).toEqual(['ShipmentScheduled', 'ShipmentCancelled']);
    }
    // Every copy reached a handler (distinct message ids, so JetStream did not absorb them), and
    // all but the first of each order found it answered already.
    const handled = h.logLines.filter((l) => typeof l.orderId === 'string' && (l.orderId as string).startsWith('ord_r'));
    expect(handled.filter((l) => l.msg === 'command answered')).toHaveLength(40);
    expect(handled.filter((l) => l.msg === 'command answered before; nothing to do')).toHaveLength(80);
    expect(second.grpcPort).not.toBe(h.replicas[0]!.grpcPort);
  });
});

describe('poison messages', () => {
  it('dead-letters what it cannot read and keeps serving', async () => {
    await h.sendRaw(Commands.ScheduleShipment.subject, Commands.ScheduleShipment.type, new Uint8Array([0xff, 0xff, 0xff]), 'ord_p1');
    await h.sendRaw('shipping.commands.ShipToMars', 'orderflow.shipping.v1.ShipToMars', new Uint8Array(), 'ord_p2');
    await h.send(Commands.ScheduleShipment, schedule(''));
    const letters = await waitFor('three dead letters', async () => {
      const found = await listDeadLetters(h.nats);
      return found.length >= 3 ? found : false;
    });
    expect(letters.map((l) => l.stream)).toEqual(['SHIPPING_COMMANDS', 'SHIPPING_COMMANDS', 'SHIPPING_COMMANDS']);
    // Handled concurrently, so in any order.
    expect(letters.map((l) => l.error).sort()).toEqual([
      expect.stringMatching(/^malformed orderflow\.shipping\.v1\.ScheduleShipment payload/),
      expect.stringMatching(/^no handler for message type "orderflow\.shipping\.v1\.ShipToMars"/),
      'orderflow.shipping.v1.ScheduleShipment without order_id on shipping.commands.ScheduleShipment',
    ]);

    await h.send(Commands.ScheduleShipment, schedule('ord_p3'));
    const [answer] = await h.waitForAnswers('ord_p3', 1);
    expect(answer?.type).toBe('ShipmentScheduled');
  });
});
