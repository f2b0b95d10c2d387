import { describe, expect, it } from 'vitest';
import { ProductCreated } from '../../generated/orderflow/inventory/v1/events.js';
import { ValidationError } from '../platform/index.js';
import { createdDocument, holdKey, markPath, pendingEvent, toNewEvent, toProductMessage } from './product.js';
import { batchRequest, createRequest, listRequest, pageToken, restockRequest, updatePriceRequest } from './requests.js';

function violationsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).violations.map((v) => v.field);
  }
  throw new Error('expected a ValidationError');
}

const price = { amountMinor: 1999, currency: 'EUR' };

describe('request validation', () => {
  it('accepts a valid CreateProduct', () => {
    expect(createRequest({ sku: 'sku-1', name: 'Mug', price, onHand: 0 })).toEqual({ sku: 'sku-1', name: 'Mug', price, onHand: 0 });
  });

  it('names every bad field of a CreateProduct at once', () => {
    expect(violationsOf(() => createRequest({ sku: '', name: '', price: { amountMinor: -1, currency: 'XXX' }, onHand: -5 }))).toEqual([
      'sku',
      'name',
      'price.currency',
      'price.amount_minor',
      'on_hand',
    ]);
    expect(violationsOf(() => createRequest({ sku: 'x'.repeat(65), name: 'n'.repeat(201), price: undefined, onHand: 1 }))).toEqual([
      'sku',
      'name',
      'price',
    ]);
    expect(violationsOf(() => createRequest({ sku: 'has space', name: 'Mug', price, onHand: 2_000_000_000 }))).toEqual(['sku', 'on_hand']);
  });

  it('wants a positive restock quantity and a known currency for a price', () => {
    expect(restockRequest({ sku: 'a', quantity: 3 })).toEqual({ sku: 'a', quantity: 3 });
    expect(violationsOf(() => restockRequest({ sku: '', quantity: 0 }))).toEqual(['sku', 'quantity']);
    expect(violationsOf(() => updatePriceRequest({ sku: 'a', price: { amountMinor: 5, currency: 'eur' } }))).toEqual(['price.currency']);
  });

  it('answers each sku of a batch once, in the order asked, and names bad ones by index', () => {
    expect(batchRequest({ skus: ['b', 'a', 'b'] })).toEqual(['b', 'a']);
    expect(violationsOf(() => batchRequest({ skus: ['ok', '', '$x'] }))).toEqual(['skus[1]', 'skus[2]']);
    expect(violationsOf(() => batchRequest({ skus: Array.from({ length: 501 }, (_, i) => `s${i}`) }))).toEqual(['skus']);
  });

  it('pages by sku with an opaque token, default 50 and at most 500', () => {
    expect(listRequest({ pageSize: 0, pageToken: '' })).toEqual({ pageSize: 50, after: undefined });
    expect(listRequest({ pageSize: 9_999, pageToken: pageToken('sku-7') })).toEqual({ pageSize: 500, after: 'sku-7' });
    expect(violationsOf(() => listRequest({ pageSize: -1, pageToken: 'not a token!' }))).toEqual(['page_size', 'page_token']);
  });
});

describe('product documents', () => {
  it('keys marks by a field-safe form of the order id', () => {
    expect(holdKey('ord_1')).toBe('ord_1');
    expect(holdKey('ord.1$x')).toBe('ord%2E1%24x');
    expect(markPath('a.b')).toBe('marks.a%2Eb');
  });

  it('creates a product whose stock is all available and whose ProductCreated is pending', () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    const doc = createdDocument({ sku: 'sku-1', name: 'Mug', price, onHand: 7 }, now);
    expect(toProductMessage(doc)).toEqual({
      sku: 'sku-1',
      name: 'Mug',
      price,
      onHand: 7,
      available: 7,
      reserved: 0,
      shipped: 0,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    expect(doc.pending).toHaveLength(1);
    const event = toNewEvent(doc.pending[0]!);
    expect(event.id).toBe('product-sku-1:1');
    expect(ProductCreated.decode(event.data)).toEqual({ sku: 'sku-1', name: 'Mug', price, onHand: 7, occurredAt: now, level: { sku: 'sku-1', onHand: 7, available: 7, reserved: 0, revision: 1 } });
    expect(pendingEvent('sku-1', 3, { type: 'ProductRestocked', data: { sku: 'sku-1', quantity: 1, onHand: 8, occurredAt: now, level: { sku: 'sku-1', onHand: 8, available: 8, reserved: 0, revision: 3 } } }).id).toBe(
      'product-sku-1:3',
    );
  });
});
