// THE access table: who may call every GraphQL root field, every entity type a subgraph resolves
// for the gateway, and every gRPC method. The gateway, each subgraph and each gRPC server check
// the caller against it; a gRPC method without a rule makes its server refuse to start. The rule
// says which roles may call; `own` is further narrowed by the service that owns the data (see
// caller.ts): a customer sees only their own, another customer's order is NOT_FOUND.
import type { Caller } from './caller.js';

/**
 * - `public`: anyone, anonymous callers and service credentials included (the catalog).
 * - `own`: a signed-in customer, for their own resources only; admins, for everyone's.
 * - `admin`: admins only.
 */
export type Rule = 'public' | 'own' | 'admin';

/** GraphQL root fields by type, and `_entities` by the entity type asked for. */
export const graphqlPolicy = {
  Query: {
    product: 'public',
    products: 'public',
    order: 'own',
    orders: 'own',
    payments: 'own',
    notifications: 'own',
    customer: 'own',
    analytics: 'admin',
    deadLetters: 'admin',
  },
  Mutation: {
    placeOrder: 'own',
    cancelOrder: 'own',
    createProduct: 'admin',
    restock: 'admin',
    updatePrice: 'admin',
    dispatchShipment: 'admin',
    confirmDelivery: 'admin',
    redriveDeadLetter: 'admin',
    redriveDeadLetters: 'admin',
  },
  Subscription: {
    orderStatusChanged: 'own',
    orderUpdates: 'own',
  },
  /** `_entities` representations, by `__typename`: what the gateway may ask a subgraph to resolve. */
  Entity: {
    Product: 'public',
    Order: 'own',
    Customer: 'own',
  },
} as const satisfies Record<string, Record<string, Rule>>;

const orders = '/orderflow.orders.v1.OrderService/';
const inventory = '/orderflow.inventory.v1.InventoryService/';
const payments = '/orderflow.payments.v1.PaymentService/';
const shipping = '/orderflow.shipping.v1.ShippingService/';
const notifications = '/orderflow.notifications.v1.NotificationService/';
const query = '/orderflow.query.v1.QueryService/';
/** Served by every process next to its own service: dead letters and parked outbox commits. */
const admin = '/orderflow.platform.v1.AdminService/';

/**
 * gRPC methods by path. Health, reflection and ServerInfo are not here: they are open to anyone
 * who can reach the port (grpcurl `list` and health probes need no token), and say nothing of data.
 */
export const grpcPolicy: Record<string, Rule> = {
  [`${orders}PlaceOrder`]: 'own',
  [`${orders}CancelOrder`]: 'own',
  [`${orders}GetOrder`]: 'own',
  [`${orders}BatchGetOrders`]: 'own',
  [`${orders}ListOrders`]: 'own',
  [`${orders}GetOrderHistory`]: 'own',
  [`${inventory}CreateProduct`]: 'admin',
  [`${inventory}Restock`]: 'admin',
  [`${inventory}UpdatePrice`]: 'admin',
  [`${inventory}GetProduct`]: 'public',
  [`${inventory}BatchGetProducts`]: 'public',
  [`${inventory}ListProducts`]: 'public',
  [`${payments}GetPayment`]: 'own',
  [`${payments}BatchGetPayments`]: 'own',
  [`${payments}ListPayments`]: 'own',
  [`${shipping}GetShipment`]: 'own',
  [`${shipping}BatchGetShipments`]: 'own',
  [`${shipping}DispatchShipment`]: 'admin',
  [`${shipping}ConfirmDelivery`]: 'admin',
  [`${notifications}ListNotifications`]: 'own',
  [`${query}GetOrderView`]: 'own',
  [`${query}ListOrderViews`]: 'own',
  [`${query}GetCustomer`]: 'own',
  [`${query}GetProductAvailability`]: 'public',
  [`${query}ListProductAvailability`]: 'public',
  [`${query}GetSalesAnalytics`]: 'admin',
  [`${query}RebuildProjection`]: 'admin',
  [`${query}GetProjectionStatus`]: 'admin',
  [`${admin}ListDeadLetters`]: 'admin',
  [`${admin}RedriveDeadLetter`]: 'admin',
  [`${admin}RedriveDeadLetters`]: 'admin',
  [`${admin}ListParkedCommits`]: 'admin',
  [`${admin}RetryParkedCommit`]: 'admin',
};

/** What a rule says of a caller: allowed, or refused as not signed in or as the wrong role. */
export type Decision = 'allow' | 'unauthenticated' | 'forbidden';

export function decide(rule: Rule, caller: Caller): Decision {
  if (rule === 'public') return 'allow';
  if (caller.kind === 'admin') return 'allow';
  if (caller.kind === 'anonymous') return 'unauthenticated';
  if (rule === 'own' && caller.kind === 'customer') return 'allow';
  return 'forbidden';
}
