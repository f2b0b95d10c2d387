// The shipping subgraph: an order's shipment (Order.shipment) and the carrier's updates as
// mutations. The shipments of every order in one request are fetched with one BatchGetShipments.
import type DataLoader from 'dataloader';
import { ShippingServiceService, ShipmentStatus, type Shipment } from '../../generated/orderflow/shipping/v1/shipping_service.js';
import { batchLoader, enumNames, grpcClient, protoEnum, viaGrpc, type SubgraphDefinition } from '../platform/index.js';

const typeDefs = /* GraphQL */ `
  type Mutation {
    "Records that the carrier took the order's parcel; the order becomes SHIPPED."
    dispatchShipment(orderId: ID!, trackingNumber: String): Shipment!
    "Records that the parcel reached the customer; the order becomes DELIVERED."
    confirmDelivery(orderId: ID!): Shipment!
  }

  type Order @key(fields: "id") {
    id: ID!
    "The order's shipment; null until the saga asks for one."
    shipment: Shipment
  }

  enum ShipmentStatus {
    ${enumNames(ShipmentStatus, 'SHIPMENT_STATUS_')}
  }

  type Shipment {
    id: ID!
    order: Order!
    status: ShipmentStatus!
    address: Address
    carrier: String
    trackingNumber: String
    failureReason: String
    scheduledAt: DateTime
    estimatedDelivery: DateTime
    dispatchedAt: DateTime
    deliveredAt: DateTime
    cancelledAt: DateTime
    version: Int!
  }
`;

type ShippingClient = ReturnType<typeof grpcClient<typeof ShippingServiceService>>;

export interface ShippingContext {
  client: ShippingClient;
  shipmentOf: DataLoader<string, Shipment | null>;
}

const orNull = (text: string) => text || null;

export function shippingSubgraph(grpcTarget: string): SubgraphDefinition<ShippingContext> {
  const client = grpcClient(ShippingServiceService, grpcTarget);
  return {
    typeDefs,
    context: () => ({
      client,
      shipmentOf: batchLoader(async (orderIds) => (await client.batchGetShipments({ orderIds })).shipments, (s) => s.orderId),
    }),
    close: () => client.close(),
    resolvers: {
      ShipmentStatus: protoEnum(ShipmentStatus, 'SHIPMENT_STATUS_'),
      Mutation: {
        async dispatchShipment(_: unknown, args: { orderId: string; trackingNumber?: string | null }, ctx: ShippingContext) {
          return (await viaGrpc(ctx.client.dispatchShipment({ orderId: args.orderId, trackingNumber: args.trackingNumber ?? '' }))).shipment;
        },
        async confirmDelivery(_: unknown, args: { orderId: string }, ctx: ShippingContext) {
          return (await viaGrpc(ctx.client.confirmDelivery({ orderId: args.orderId }))).shipment;
        },
      },
      Order: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        shipment: (order: { id: string }, _: unknown, ctx: ShippingContext) => ctx.shipmentOf.load(order.id),
      },
      Shipment: {
        id: (s: Shipment) => s.shipmentId || s.orderId,
        order: (s: Shipment) => ({ id: s.orderId }),
        carrier: (s: Shipment) => orNull(s.carrier),
        trackingNumber: (s: Shipment) => orNull(s.trackingNumber),
        failureReason: (s: Shipment) => orNull(s.failureReason),
      },
    },
  };
}
