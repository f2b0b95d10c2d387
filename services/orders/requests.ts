// Validation of OrderService requests — every bad field is named in one INVALID_ARGUMENT before
// anything is read or written — plus order ids and page tokens.
import { createHash, randomUUID } from 'node:crypto';
import type { Address, OrderItem } from '../../generated/orderflow/common/v1/common.js';
import type { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import type {
  BatchGetOrdersRequest,
  CancelOrderRequest,
  ListOrdersRequest,
  PlaceOrderRequest,
} from '../../generated/orderflow/orders/v1/orders_service.js';
import { orderStatusFromJSON } from '../../generated/orderflow/orders/v1/order.js';
import { Violations } from '../platform/index.js';
import type { PlacedOrder } from './order.js';
import type { SortKey } from './views.js';

/** Most units of one line: far beyond a shop order, small enough that totals stay exact. */
export const maxQuantity = 1_000;
/** Most lines one order may have. */
export const maxLines = 100;
/** Longest sku, as inventory accepts it. */
export const maxProductIdLength = 64;
export const maxIdLength = 100;
export const maxBatchSize = 500;
export const defaultPageSize = 50;
export const maxPageSize = 500;

// As inventory spells skus, so a product id it would refuse is named here by its field.
const skuPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A PlaceOrder request that passed validation. */
export interface ValidPlaceOrder {
  customerId: string;
  customerEmail: string;
  items: OrderItem[];
  address: Address;
  paymentToken: string;
  idempotencyKey: string;
}

function address(v: Violations, a: Address | undefined): void {
  if (!a) {
    v.add('shipping_address', 'is required');
    return;
  }
  v.text('shipping_address.recipient', a.recipient);
  v.text('shipping_address.line1', a.line1);
  v.optionalText('shipping_address.line2', a.line2);
  v.text('shipping_address.city', a.city, { maxLength: 100 });
  v.optionalText('shipping_address.region', a.region, 100);
  v.text('shipping_address.postal_code', a.postalCode, { maxLength: 20 });
  v.text('shipping_address.country', a.country, { pattern: /^[A-Za-z]{2}$/, patternHint: 'must be an ISO 3166-1 alpha-2 code, e.g. "DE"' });
}

export function placeOrderRequest(r: PlaceOrderRequest): ValidPlaceOrder {
  const v = new Violations();
  v.text('customer_id', r.customerId, { maxLength: maxIdLength });
  v.email('customer_email', r.customerEmail);
  if (r.items.length === 0) v.add('items', 'must hold at least one line');
  else if (r.items.length > maxLines) v.add('items', `must hold at most ${maxLines} lines`);
  else {
    const firstLine = new Map<string, number>();
    r.items.forEach((item, i) => {
      v.text(`items[${i}].product_id`, item.productId, {
        maxLength: maxProductIdLength,
        pattern: skuPattern,
        patternHint: 'must contain only letters, digits, ".", "_" and "-", starting with a letter or digit',
      });
      v.integer(`items[${i}].quantity`, item.quantity, { min: 1, max: maxQuantity });
      const earlier = firstLine.get(item.productId);
      if (earlier !== undefined) v.add(`items[${i}].product_id`, `repeats items[${earlier}]; order each product once with its total quantity`);
      else firstLine.set(item.productId, i);
    });
  }
  address(v, r.shippingAddress);
  v.text('payment_token', r.paymentToken);
  v.optionalText('idempotency_key', r.idempotencyKey);
  v.throwIfAny();
  const a = r.shippingAddress!;
  return {
    customerId: r.customerId,
    customerEmail: r.customerEmail,
    items: r.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    address: { ...a, country: a.country.toUpperCase() },
    paymentToken: r.paymentToken,
    idempotencyKey: r.idempotencyKey,
  };
}

/**
 * The order id: derived from customer and idempotency key, so a retry names the same order (and
 * two customers' keys never collide); random without a key.
 */
export function orderIdFor(customerId: string, idempotencyKey: string): string {
  if (idempotencyKey === '') return `ord_${randomUUID()}`;
  return `ord_${createHash('sha256').update(`${customerId}\u0000${idempotencyKey}`).digest('hex').slice(0, 32)}`;
}

/** Whether an existing order was placed by the same request (a retry) rather than another one. */
export function sameRequest(existing: PlacedOrder, request: ValidPlaceOrder): boolean {
  const lines = (items: { productId: string; quantity: number }[]) =>
    JSON.stringify(items.map((i) => [i.productId, i.quantity]).sort(([a], [b]) => String(a).localeCompare(String(b))));
  const place = (a: Address | undefined) =>
    JSON.stringify(a ? [a.recipient, a.line1, a.line2, a.city, a.region, a.postalCode, a.country.toUpperCase()] : null);
  return (
    existing.customerId === request.customerId &&
    existing.customerEmail === request.customerEmail &&
    lines(existing.items) === lines(request.items) &&
    place(existing.address) === place(request.address)
  );
}

export function orderIdRequest(orderId: string): string {
  new Violations().text('order_id', orderId, { maxLength: maxIdLength }).throwIfAny();
  return orderId;
}

export function cancelOrderRequest(r: CancelOrderRequest): { orderId: string; reason: string } {
  new Violations().text('order_id', r.orderId, { maxLength: maxIdLength }).optionalText('reason', r.reason).throwIfAny();
  return { orderId: r.orderId, reason: r.reason };
}

/** The distinct ids of a batch, in the order first asked for. */
export function batchGetRequest(r: BatchGetOrdersRequest): string[] {
  new Violations().idList('order_ids', r.orderIds, { max: maxBatchSize, maxLength: maxIdLength }).throwIfAny();
  return [...new Set(r.orderIds)];
}

/** The opaque page token: base64url of the last listed order's sort key. */
export function encodePageToken(key: SortKey): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.orderId])).toString('base64url');
}

function decodePageToken(token: string): SortKey | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [createdAt, orderId] = parsed as unknown[];
    if (typeof createdAt !== 'string' || typeof orderId !== 'string' || orderId === '') return undefined;
    const date = new Date(createdAt);
    return Number.isNaN(date.getTime()) ? undefined : { createdAt: date, orderId };
  } catch {
    return undefined;
  }
}

export function listOrdersRequest(r: ListOrdersRequest): { customerId: string; statuses: OrderStatus[]; pageSize: number; after?: SortKey } {
  const v = new Violations().optionalText('customer_id', r.customerId, maxIdLength).integer('page_size', r.pageSize, { min: 0, max: maxPageSize });
  r.statuses.forEach((s, i) => {
    if (s <= 0 || orderStatusFromJSON(s) !== s) v.add(`statuses[${i}]`, 'must be a known order status');
  });
  const after = r.pageToken === '' ? undefined : decodePageToken(r.pageToken);
  if (r.pageToken !== '' && !after) v.add('page_token', 'is not a token returned by ListOrders');
  v.throwIfAny();
  return { customerId: r.customerId, statuses: [...new Set(r.statuses)], pageSize: r.pageSize || defaultPageSize, ...(after ? { after } : {}) };
}
