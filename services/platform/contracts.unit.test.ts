import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import {
  Commands,
  type Contract,
  contractByType,
  contracts,
  decodeMessage,
  encodeMessage,
  Events,
  MalformedMessageError,
  type MessageOf,
  streamFor,
  streams,
  UnknownMessageTypeError,
} from './contracts.js';

const at = new Date('2025-03-14T09:26:53.589Z');
const later = new Date('2025-03-16T18:00:00.000Z');
const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });
const items = [
  { productId: 'sku-kettle', quantity: 2 },
  { productId: 'sku-mug', quantity: 1 },
];
const priced = [
  { productId: 'sku-kettle', name: 'Kettle', quantity: 2, unitPrice: eur(3999), lineTotal: eur(7998) },
  { productId: 'sku-mug', name: 'Mug', quantity: 1, unitPrice: eur(899), lineTotal: eur(899) },
];
const address = {
  recipient: 'Ada Lovelace',
  line1: 'Unter den Linden 1',
  line2: '3. OG',
  city: 'Berlin',
  region: 'BE',
  postalCode: '10117',
  country: 'DE',
};
const levels = [
  { sku: 'sku-kettle', onHand: 10, available: 6, reserved: 4, revision: 7 },
  { sku: 'sku-mug', onHand: 3, available: 2, reserved: 1, revision: 3 },
];
const orderId = 'ord-01HZX3';

type All = typeof Commands & typeof Events;
/** One realistic sample per message, every field set, so a round trip exercises each of them. */
const samples: { [K in keyof All]: Partial<MessageOf<All[K]>> } = {
  ReserveStock: { orderId, items },
  ReleaseStock: { orderId, reason: 'payment declined' },
  CommitStock: { orderId },
  ChargePayment: { orderId, customerId: 'cus-7', amount: eur(8897), paymentToken: 'tok_visa_4242' },
  RefundPayment: { orderId, reason: 'shipment failed' },
  ScheduleShipment: { orderId, customerId: 'cus-7', address, items },
  CancelShipment: { orderId, reason: 'customer requested' },

  OrderPlaced: {
    orderId,
    customerId: 'cus-7',
    customerEmail: 'ada@example.com',
    items: priced,
    subtotal: eur(8897),
    total: eur(8897),
    shippingAddress: address,
    occurredAt: at,
  },
  OrderStepStarted: { orderId, step: 'reserve_stock', deadline: later, commandId: 'cmd-1', occurredAt: at },
  OrderStepSucceeded: { orderId, step: 'reserve_stock', occurredAt: at },
  OrderStepFailed: {
    orderId,
    step: 'charge_payment',
    reason: CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED,
    detail: 'insufficient funds',
    occurredAt: at,
  },
  OrderStepTimedOut: { orderId, step: 'schedule_shipment', occurredAt: at },
  OrderCancellationRequested: { orderId, detail: 'ordered twice', occurredAt: at },
  OrderCompensationStarted: {
    orderId,
    reason: CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK,
    detail: 'sku-mug: 1 requested, 0 available',
    occurredAt: at,
  },
  OrderStepCompensated: { orderId, step: 'reserve_stock', occurredAt: at },
  OrderCompleted: { orderId, total: eur(8897), occurredAt: at },
  OrderCancelled: {
    orderId,
    reason: CancellationReason.CANCELLATION_REASON_CUSTOMER_REQUESTED,
    detail: 'ordered twice',
    occurredAt: at,
  },
  OrderShipped: { orderId, trackingNumber: 'JD014600006281234567', occurredAt: at },
  OrderDelivered: { orderId, occurredAt: later },

  ProductCreated: { sku: 'sku-kettle', name: 'Kettle', price: eur(3999), onHand: 10, occurredAt: at },
  ProductRestocked: { sku: 'sku-kettle', quantity: 5, onHand: 15, occurredAt: at },
  ProductPriceChanged: { sku: 'sku-kettle', price: eur(3499), occurredAt: at },
  StockReserved: { orderId, items, levels, occurredAt: at },
  StockReservationFailed: {
    orderId,
    shortages: [{ productId: 'sku-mug', requested: 1, available: 0 }],
    reason: 'insufficient stock for sku-mug',
    occurredAt: at,
  },
  StockReleased: { orderId, items, levels, occurredAt: at },
  StockCommitted: { orderId, items, levels, occurredAt: at },

  PaymentCaptured: { orderId, paymentId: 'pay-1', amount: eur(8897), occurredAt: at },
  PaymentDeclined: { orderId, paymentId: 'pay-1', amount: eur(8897), reason: 'insufficient funds', occurredAt: at },
  PaymentFailed: { orderId, paymentId: 'pay-1', reason: 'gateway timeout after 5 attempts', occurredAt: at },
  PaymentRefunded: { orderId, paymentId: 'pay-1', amount: eur(8897), reason: 'shipment failed', occurredAt: at },
  PaymentRefundSkipped: { orderId, reason: 'no captured payment', occurredAt: at },

  ShipmentScheduled: { orderId, shipmentId: 'shp-1', carrier: 'dhl', estimatedDelivery: later, occurredAt: at },
  ShipmentFailed: { orderId, reason: 'no carrier serves country XX', occurredAt: at },
  ShipmentCancelled: { orderId, shipmentId: 'shp-1', wasScheduled: true, occurredAt: at },
  ShipmentDispatched: { orderId, shipmentId: 'shp-1', trackingNumber: 'JD014600006281234567', occurredAt: at },
  ShipmentDelivered: { orderId, shipmentId: 'shp-1', occurredAt: later },

  NotificationSent: {
    notificationId: 'ntf-1',
    orderId,
    customerId: 'cus-7',
    recipient: 'ada@example.com',
    subject: 'Your order has shipped',
    triggerType: 'orderflow.orders.v1.OrderShipped',
    occurredAt: at,
  },
};

const named = (c: Contract<unknown>) => c.type.slice(c.type.lastIndexOf('.') + 1) as keyof All;
const all = { ...Commands, ...Events } as Record<keyof All, Contract<unknown>>;

describe('contracts', () => {
  it.each(contracts.map((c) => [c.type, c] as const))('%s round-trips through binary protobuf', (_, c) => {
    const expected = c.codec.fromPartial(samples[named(c)]);
    const bytes = encodeMessage(c, expected);

    expect(bytes.length).toBeGreaterThan(0);
    expect(decodeMessage(c.type, bytes)).toEqual(expected);
    expect(decodeMessage(c, bytes)).toEqual(expected);
  });

  it('registers each command and event under its message name', () => {
    for (const [name, c] of Object.entries(all)) expect(named(c)).toBe(name);
    expect(contracts).toHaveLength(Object.keys(all).length);
  });

  it('registers every command and event declared in proto/', () => {
    // Top-level messages of commands.proto carry order_id; those of events.proto carry
    // occurred_at. Helper messages in the same files (StockLevel, Shortage) carry neither.
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(new URL('../../generated/descriptors.binpb', import.meta.url)));
    const declared = set.file
      .filter((f) => /^orderflow\/.*\/(commands|events)\.proto$/.test(f.name ?? ''))
      .flatMap((f) =>
        f.messageType
          .filter((m) => m.field.some((field) => ['order_id', 'occurred_at'].includes(field.name ?? '')))
          .map((m) => `${f.package}.${m.name}`),
      );

    expect(new Set(contracts.map((c) => c.type))).toEqual(new Set(declared));
  });

  it('gives every command an order id and every event an order id or a catalog key and a time', () => {
    for (const c of contracts) {
      const fields = Object.keys(c.codec.fromPartial({}) as object);
      if (c.kind === 'commands') {
        expect(fields, c.type).toContain('orderId');
      } else {
        expect(fields, c.type).toContain('occurredAt');
        expect(fields.includes('orderId') || fields.includes('sku'), c.type).toBe(true);
      }
    }
  });

  it('routes each message to a unique subject inside exactly one stream', () => {
    const subjects = contracts.map((c) => c.subject);
    expect(new Set(subjects).size).toBe(subjects.length);

    for (const c of contracts) {
      expect(c.subject).toBe(`${c.context}.${c.kind}.${named(c)}`);
      const matching = streams.filter((s) => s.subjects.some((p) => c.subject.startsWith(p.slice(0, -1))));
      expect(matching.map((s) => s.name), c.subject).toEqual([streamFor(c).name]);
    }
  });

  it('provisions one event stream per publishing context and one command stream per receiver', () => {
    expect(streams.map((s) => [s.name, s.subjects])).toEqual([
      ['ORDERS_EVENTS', ['orders.events.>']],
      ['INVENTORY_EVENTS', ['inventory.events.>']],
      ['PAYMENTS_EVENTS', ['payments.events.>']],
      ['SHIPPING_EVENTS', ['shipping.events.>']],
      ['NOTIFICATIONS_EVENTS', ['notifications.events.>']],
      ['INVENTORY_COMMANDS', ['inventory.commands.>']],
      ['PAYMENTS_COMMANDS', ['payments.commands.>']],
      ['SHIPPING_COMMANDS', ['shipping.commands.>']],
    ]);
    for (const s of streams) expect(s.description).not.toBe('');
    // Every stream receives something, so none is provisioned for nothing.
    expect(new Set(contracts.map((c) => streamFor(c).name))).toEqual(new Set(streams.map((s) => s.name)));
  });

  it('types lookups by name', () => {
    expect(Events.StockReserved.type).toBe('orderflow.inventory.v1.StockReserved');
    expect(Events.StockReserved.subject).toBe('inventory.events.StockReserved');
    expect(Commands.ReserveStock.subject).toBe('inventory.commands.ReserveStock');
    expect(Commands.ChargePayment.kind).toBe('commands');

    const sent = Commands.ChargePayment.codec.fromPartial(samples.ChargePayment);
    const charge = decodeMessage(Commands.ChargePayment, encodeMessage(Commands.ChargePayment, sent));
    // Typed access without casts: the compiler knows the decoded message is a ChargePayment.
    expect(charge.amount?.amountMinor).toBe(8897);
  });

  it('rejects undecodable bytes with MalformedMessageError naming the type', () => {
    const type = Commands.ReserveStock.type;
    const error = catching(() => decodeMessage(type, Uint8Array.of(0xff, 0xff, 0xff)));

    expect(error).toBeInstanceOf(MalformedMessageError);
    expect(error).toMatchObject({ name: 'MalformedMessageError', code: 'MALFORMED_MESSAGE', type });
    expect((error as MalformedMessageError).cause).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(type);
  });

  it('rejects an unknown type with UnknownMessageTypeError naming it', () => {
    const type = 'orderflow.inventory.v1.StockTeleported';

    expect(() => contractByType(type)).toThrow(UnknownMessageTypeError);
    expect(() => decodeMessage(type, new Uint8Array())).toThrow(UnknownMessageTypeError);
    expect(catching(() => contractByType(type))).toMatchObject({ name: 'UnknownMessageTypeError', type });
    expect(() => contractByType(type)).toThrow(/StockTeleported/);
  });
});

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}
