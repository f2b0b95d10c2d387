import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { Violations } from './validation.js';

describe('Violations', () => {
  it('names every bad field at once', () => {
    const v = new Violations()
      .text('sku', '')
      .text('name', 'x'.repeat(201))
      .integer('quantity', -1, { min: 1 })
      .money('price', { amountMinor: 10, currency: 'XXX' })
      .money('total', { amountMinor: 1.5, currency: 'EUR' });
    const thrown = (() => {
      try {
        v.throwIfAny();
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).violations.map((x) => x.field)).toEqual([
      'sku',
      'name',
      'quantity',
      'price.currency',
      'total.amount_minor',
    ]);
  });

  it('passes a valid request', () => {
    expect(() =>
      new Violations().text('sku', 'SKU-1').integer('quantity', 3, { min: 1, max: 10 }).money('price', { amountMinor: 0, currency: 'EUR' }).throwIfAny(),
    ).not.toThrow();
  });
});
