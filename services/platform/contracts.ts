// The registry of every message that travels on NATS: each command and integration event of
// proto/, with the subject it is published on and the ts-proto codec that reads and writes it.
// gRPC request/response types are not here; they never cross the broker.
//
// Publishers and consumers look contracts up here instead of building subjects or type names by
// hand, so a message can only be published under the name and subject its consumers expect.
import type { MessageFns } from '../../generated/orderflow/common/v1/common.js';
import * as inventoryCommands from '../../generated/orderflow/inventory/v1/commands.js';
import * as inventoryEvents from '../../generated/orderflow/inventory/v1/events.js';
import * as notificationsEvents from '../../generated/orderflow/notifications/v1/events.js';
import * as ordersEvents from '../../generated/orderflow/orders/v1/events.js';
import * as paymentsCommands from '../../generated/orderflow/payments/v1/commands.js';
import * as paymentsEvents from '../../generated/orderflow/payments/v1/events.js';
import * as shippingCommands from '../../generated/orderflow/shipping/v1/commands.js';
import * as shippingEvents from '../../generated/orderflow/shipping/v1/events.js';
import { PoisonMessageError } from './messaging/poison.js';
import { subjectFor } from './messaging/envelope.js';
import type { StreamSpec } from './messaging/nats.js';
import type { NewEvent, NewMessage } from './eventstore/types.js';

/** What a message does: a command asks one context to act; an event reports what happened. */
export type MessageKind = 'commands' | 'events';

/** The ts-proto codec of a message type (encode, decode, fromPartial, JSON mapping). */
export type Codec<T> = MessageFns<T>;

/** A NATS message type: its fully qualified protobuf name, subject and codec. */
export interface Contract<T, Type extends string = string> {
  /** Fully qualified protobuf name, e.g. `orderflow.inventory.v1.ReserveStock`; sent as a header. */
  readonly type: Type;
  /** The bounded context that owns the message: the receiver of a command, the publisher of an event. */
  readonly context: string;
  readonly kind: MessageKind;
  /** The subject it is published on, `<context>.<kind>.<Name>`. */
  readonly subject: string;
  readonly codec: Codec<T>;
}

/** The message type a contract carries, e.g. `MessageOf<typeof Events.StockReserved>`. */
export type MessageOf<C> = C extends Contract<infer T> ? T : never;

export type { StreamSpec };

/** Decoding asked for a message type that no contract describes; a consumer dead-letters it at once. */
export class UnknownMessageTypeError extends PoisonMessageError {
  readonly code = 'UNKNOWN_MESSAGE_TYPE';
  constructor(readonly type: string) {
    super(`unknown message type ${JSON.stringify(type)}: no contract in services/platform/contracts.ts`);
    this.name = 'UnknownMessageTypeError';
  }
}

/** A payload could not be decoded as the type its header claims; retrying will not help. */
export class MalformedMessageError extends PoisonMessageError {
  readonly code = 'MALFORMED_MESSAGE';
  constructor(
    readonly type: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`malformed ${type} payload: ${reason}`, { cause });
    this.name = 'MalformedMessageError';
  }
}

/**
 * Describes one message from its generated file's `protobufPackage` and its message name, so
 * the type name cannot drift from the .proto package.
 */
export function defineContract<T, const Package extends string, const Name extends string>(
  protobufPackage: Package,
  name: Name,
  kind: MessageKind,
  codec: Codec<T>,
): Contract<T, `${Package}.${Name}`> {
  const type = `${protobufPackage}.${name}` as const;
  const subject = subjectFor(type, kind);
  const context = subject.slice(0, subject.indexOf('.'));
  return Object.freeze({ type, context, kind, subject, codec });
}

const command = <T, const P extends string, const N extends string>(pkg: P, name: N, codec: Codec<T>) =>
  defineContract(pkg, name, 'commands', codec);
const event = <T, const P extends string, const N extends string>(pkg: P, name: N, codec: Codec<T>) =>
  defineContract(pkg, name, 'events', codec);

const inv = inventoryCommands.protobufPackage;
const pay = paymentsCommands.protobufPackage;
const shp = shippingCommands.protobufPackage;

/** Every command, by message name (names are unique across contexts). */
export const Commands = {
  ReserveStock: command(inv, 'ReserveStock', inventoryCommands.ReserveStock),
  ReleaseStock: command(inv, 'ReleaseStock', inventoryCommands.ReleaseStock),
  CommitStock: command(inv, 'CommitStock', inventoryCommands.CommitStock),
  ChargePayment: command(pay, 'ChargePayment', paymentsCommands.ChargePayment),
  RefundPayment: command(pay, 'RefundPayment', paymentsCommands.RefundPayment),
  ScheduleShipment: command(shp, 'ScheduleShipment', shippingCommands.ScheduleShipment),
  CancelShipment: command(shp, 'CancelShipment', shippingCommands.CancelShipment),
} as const;

const ord = ordersEvents.protobufPackage;
const invE = inventoryEvents.protobufPackage;
const payE = paymentsEvents.protobufPackage;
const shpE = shippingEvents.protobufPackage;
const ntf = notificationsEvents.protobufPackage;

/** Every integration event, by message name (names are unique across contexts). */
export const Events = {
  OrderPlaced: event(ord, 'OrderPlaced', ordersEvents.OrderPlaced),
  OrderStepStarted: event(ord, 'OrderStepStarted', ordersEvents.OrderStepStarted),
  OrderStepSucceeded: event(ord, 'OrderStepSucceeded', ordersEvents.OrderStepSucceeded),
  OrderStepFailed: event(ord, 'OrderStepFailed', ordersEvents.OrderStepFailed),
  OrderStepTimedOut: event(ord, 'OrderStepTimedOut', ordersEvents.OrderStepTimedOut),
  OrderCancellationRequested: event(ord, 'OrderCancellationRequested', ordersEvents.OrderCancellationRequested),
  OrderCompensationStarted: event(ord, 'OrderCompensationStarted', ordersEvents.OrderCompensationStarted),
  OrderStepCompensated: event(ord, 'OrderStepCompensated', ordersEvents.OrderStepCompensated),
  OrderCompleted: event(ord, 'OrderCompleted', ordersEvents.OrderCompleted),
  OrderCancelled: event(ord, 'OrderCancelled', ordersEvents.OrderCancelled),
  OrderShipped: event(ord, 'OrderShipped', ordersEvents.OrderShipped),
  OrderDelivered: event(ord, 'OrderDelivered', ordersEvents.OrderDelivered),

  ProductCreated: event(invE, 'ProductCreated', inventoryEvents.ProductCreated),
  ProductRestocked: event(invE, 'ProductRestocked', inventoryEvents.ProductRestocked),
  ProductPriceChanged: event(invE, 'ProductPriceChanged', inventoryEvents.ProductPriceChanged),
  StockReserved: event(invE, 'StockReserved', inventoryEvents.StockReserved),
  StockReservationFailed: event(invE, 'StockReservationFailed', inventoryEvents.StockReservationFailed),
  StockReleased: event(invE, 'StockReleased', inventoryEvents.StockReleased),
  StockCommitted: event(invE, 'StockCommitted', inventoryEvents.StockCommitted),

  PaymentCaptured: event(payE, 'PaymentCaptured', paymentsEvents.PaymentCaptured),
  PaymentDeclined: event(payE, 'PaymentDeclined', paymentsEvents.PaymentDeclined),
  PaymentFailed: event(payE, 'PaymentFailed', paymentsEvents.PaymentFailed),
  PaymentRefunded: event(payE, 'PaymentRefunded', paymentsEvents.PaymentRefunded),
  PaymentRefundSkipped: event(payE, 'PaymentRefundSkipped', paymentsEvents.PaymentRefundSkipped),

  ShipmentScheduled: event(shpE, 'ShipmentScheduled', shippingEvents.ShipmentScheduled),
  ShipmentFailed: event(shpE, 'ShipmentFailed', shippingEvents.ShipmentFailed),
  ShipmentCancelled: event(shpE, 'ShipmentCancelled', shippingEvents.ShipmentCancelled),
  ShipmentDispatched: event(shpE, 'ShipmentDispatched', shippingEvents.ShipmentDispatched),
  ShipmentDelivered: event(shpE, 'ShipmentDelivered', shippingEvents.ShipmentDelivered),

  NotificationSent: event(ntf, 'NotificationSent', notificationsEvents.NotificationSent),
} as const;

/** Union of every command contract, for exhaustive handling. */
export type CommandContract = (typeof Commands)[keyof typeof Commands];
/** Union of every event contract, for exhaustive handling. */
export type EventContract = (typeof Events)[keyof typeof Events];
/** Fully qualified name of any NATS message type. */
export type MessageType = CommandContract['type'] | EventContract['type'];

/** Every NATS message contract: commands first, then events. */
export const contracts: readonly Contract<unknown>[] = Object.freeze([
  ...Object.values(Commands),
  ...Object.values(Events),
]);

const byType: ReadonlyMap<string, Contract<unknown>> = new Map(contracts.map((c) => [c.type, c]));

/** The contract of a fully qualified type name; throws UnknownMessageTypeError for any other. */
export function contractByType(type: string): Contract<unknown> {
  const found = byType.get(type);
  if (!found) throw new UnknownMessageTypeError(type);
  return found;
}

/** Serializes a message as binary protobuf, the payload format on NATS. */
export function encodeMessage<T>(contract: Contract<T>, value: T): Uint8Array {
  return contract.codec.encode(value).finish();
}

/** An event for the event store: type, subject and encoded payload; `id` defaults to a fresh UUID. */
export function newEvent<T>(contract: Contract<T>, value: T, id?: string): NewEvent {
  return { type: contract.type, subject: contract.subject, data: encodeMessage(contract, value), ...(id ? { id } : {}) };
}

/**
 * A command to send with an append (it rides in the commit, so it leaves if and only if the
 * events are stored). The id should be deterministic, e.g. `<orderId>:<step>:reserve`, so a
 * command re-sent after a crash is absorbed by JetStream de-duplication.
 */
export function newCommand<T>(contract: Contract<T>, value: T, id: string): NewMessage {
  return { id, type: contract.type, subject: contract.subject, data: encodeMessage(contract, value) };
}

/**
 * Deserializes a payload. Given a contract the result is typed; given the type name from the
 * message's header it is `unknown` until narrowed. Throws UnknownMessageTypeError for an unknown
 * type and MalformedMessageError when the bytes are not a valid message, so consumers can send
 * such messages straight to the dead-letter stream instead of retrying them.
 */
export function decodeMessage<T>(contract: Contract<T>, bytes: Uint8Array): T;
export function decodeMessage(type: string, bytes: Uint8Array): unknown;
export function decodeMessage(typeOrContract: string | Contract<unknown>, bytes: Uint8Array): unknown {
  const contract = typeof typeOrContract === 'string' ? contractByType(typeOrContract) : typeOrContract;
  try {
    return contract.codec.decode(bytes);
  } catch (cause) {
    throw new MalformedMessageError(contract.type, cause);
  }
}

/** The contexts that publish integration events, each on its own stream. */
const eventContexts = ['orders', 'inventory', 'payments', 'shipping', 'notifications'] as const;
/** The contexts that receive commands, each on its own stream. */
const commandContexts = ['inventory', 'payments', 'shipping'] as const;

/** Age and size bounds of one kind of stream. */
export interface StreamLimits {
  maxAgeMs: number;
  maxBytes: number;
}

const day = 24 * 3600_000;
const MiB = 1024 ** 2;

/**
 * Default limits per kind. Events: 30 days, 1 GiB per context (the outbox re-publishes from the
 * event store, and projections rebuild from it, so an aged-out event is not lost). Commands: 7
 * days, 256 MiB (a command matters to its one receiver for minutes). Both discard the oldest.
 */
export const defaultStreamLimits: Readonly<Record<MessageKind, StreamLimits>> = Object.freeze({
  events: { maxAgeMs: 30 * day, maxBytes: 1024 * MiB },
  commands: { maxAgeMs: 7 * day, maxBytes: 256 * MiB },
});

/**
 * The JetStream streams to provision: `<CONTEXT>_EVENTS` over `<context>.events.>` and
 * `<CONTEXT>_COMMANDS` over `<context>.commands.>`, with the given limits per kind. Commands and
 * events get separate streams because their limits differ: a command matters to its one receiver
 * for a short while, while events are the history that projections replay from zero.
 */
export function streamSpecs(limits: Readonly<Record<MessageKind, StreamLimits>> = defaultStreamLimits): readonly StreamSpec[] {
  return Object.freeze([
    ...eventContexts.map((context) => ({
      name: `${context.toUpperCase()}_EVENTS`,
      subjects: [`${context}.events.>`],
      description: `Integration events published by the ${context} service`,
      ...limits.events,
    })),
    ...commandContexts.map((context) => ({
      name: `${context.toUpperCase()}_COMMANDS`,
      subjects: [`${context}.commands.>`],
      description: `Commands sent to the ${context} service by the order saga`,
      ...limits.commands,
    })),
  ]);
}

/** The streams with the default limits. */
export const streams: readonly StreamSpec[] = streamSpecs();

/** The stream a contract's subject is stored in. */
export function streamFor(contract: Contract<unknown>): StreamSpec {
  const name = `${contract.context.toUpperCase()}_${contract.kind.toUpperCase()}`;
  const found = streams.find((s) => s.name === name);
  // Unreachable while the context lists above match proto/; the unit test keeps them in step.
  if (!found) throw new Error(`no stream for ${contract.type} (expected ${name})`);
  return found;
}
