import { describe, expect, it } from 'vitest';
import type { PlaceOrderRequest } from '../../generated/orderflow/orders/v1/orders_service.js';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { ValidationError } from '../platform/index.js';
import { encodePageToken, listOrdersRequest, orderIdFor, placeOrderRequest } from './requests.js';

const good: PlaceOrderRequest = {
  customerId: 'cus_1',
  customerEmail: 'ada@example.com',
  items: [{ productId: 'mug', quantity: 2 }],
  shippingAddress: { recipient: 'Ada', line1: 'Hauptstr. 1', line2: '', city: 'Berlin', region: '', postalCode: '10115', country: 'de' },
  paymentToken: 'tok_ok',
  idempotencyKey: '',
};

function violations(request: PlaceOrderRequest): string[] {
  try {
    placeOrderRequest(request);
  } catch (err) {
    if (err instanceof ValidationError) return err.violations.map((v) => `${v.field}: ${v.description}`);
    throw err;
  }
  return [];
}

describe('PlaceOrder validation', () => {
  it('accepts a good request and upper-cases the country', () => {
    expect(placeOrderRequest(good).address.country).toBe('DE');
  });

  it('names every bad field at once', () => {
    expect(
      violations({
        ...good,
        customerId: '',
        customerEmail: 'not-an-address',
        items: [
          { productId: 'mug', quantity: 0 },
          { productId: 'tee', quantity: 1001 },
          { productId: 'mug', quantity: 1 },
          { productId: 'bad sku', quantity: 1 },
        ],
        shippingAddress: { ...good.shippingAddress!, city: '', country: 'Germany', line2: 'x'.repeat(201) },
        paymentToken: '',
      }),
    ).toEqual([
      'customer_id: is required',
      'customer_email: must be one plain e-mail address, like name@example.com',
      'items[0].quantity: must be at least 1',
      'items[1].quantity: must be at most 1000',
      'items[2].product_id: repeats items[0]; order each product once with its total quantity',
      'items[3].product_id: must contain only letters, digits, ".", "_" and "-", starting with a letter or digit',
      'shipping_address.line2: must be at most 200 characters',
      'shipping_address.city: is required',
      'shipping_address.country: must be an ISO 3166-1 alpha-2 code, e.g. "DE"',
      'payment_token: is required',
    ]);
  });

  it('requires lines and an address', () => {
    expect(violations({ ...good, items: [], shippingAddress: undefined })).toEqual(['items: must hold at least one line', 'shipping_address: is required']);
  });

  it('refuses over-long strings', () => {
    expect(violations({ ...good, customerId: 'c'.repeat(101), idempotencyKey: 'k'.repeat(201) })).toEqual([
      'customer_id: must be at most 100 characters',
      'idempotency_key: must be at most 200 characters',
    ]);
  });
});

describe('order ids', () => {
  it('derives the same id from the same customer and key, another for another customer', () => {
    expect(orderIdFor('cus_1', 'k-1')).toBe(orderIdFor('cus_1', 'k-1'));
    expect(orderIdFor('cus_1', 'k-1')).toMatch(/^ord_[0-9a-f]{32}$/);
    expect(orderIdFor('cus_2', 'k-1')).not.toBe(orderIdFor('cus_1', 'k-1'));
  });

  it('is random without a key', () => {
    expect(orderIdFor('cus_1', '')).not.toBe(orderIdFor('cus_1', ''));
  });
});

describe('ListOrders requests', () => {
  it('defaults the page size and reads back its own token', () => {
    const token = encodePageToken({ createdAt: new Date('2030-01-01T00:00:00Z'), orderId: 'ord_9' });
    expect(listOrdersRequest({ customerId: '', statuses: [OrderStatus.ORDER_STATUS_CANCELLED], pageSize: 0, pageToken: token })).toEqual({
      customerId: '',
      statuses: [OrderStatus.ORDER_STATUS_CANCELLED],
      pageSize: 50,
      after: { createdAt: new Date('2030-01-01T00:00:00Z'), orderId: 'ord_9' },
    });
  });

  it('refuses a foreign token, an unknown status and a page too large', () => {
    expect(() => listOrdersRequest({ customerId: '', statuses: [42 as OrderStatus], pageSize: 501, pageToken: 'nope' })).toThrow(
      /page_size: must be at most 500; statuses\[0\]: must be a known order status; page_token: is not a token returned by ListOrders/,
    );
  });
});
