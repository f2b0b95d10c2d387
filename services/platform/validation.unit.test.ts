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

  describe('hostile text', () => {
    const fieldsOf = (v: Violations) => {
      try {
        v.throwIfAny();
        return [];
      } catch (err) {
        return (err as ValidationError).violations.map((x) => x.field);
      }
    };

    it.each([
      ['a C0 control', 'a\u0000b'],
      ['a newline', 'evil\nX'],
      ['DEL', 'a\u007f'],
      ['a C1 control', 'a\u0085'],
      ['a bidi override', 'abc\u202egpj.exe'],
      ['a bidi isolate', '\u2066x\u2069'],
      ['a lone high surrogate', 'a\ud800'],
      ['a lone low surrogate', '\udc00a'],
      ['a replacement character (invalid UTF-8 on the wire)', 'a\ufffd'],
    ])('refuses %s in required, optional and listed text', (_what, bad) => {
      expect(fieldsOf(new Violations().text('id', bad).optionalText('reason', bad).idList('ids', ['ok', bad]))).toEqual(['id', 'reason', 'ids[1]']);
    });

    it('accepts ordinary Unicode, emoji included', () => {
      expect(fieldsOf(new Violations().text('name', 'Zoë Ñandú 李 😀 — Straße').optionalText('reason', ''))).toEqual([]);
    });
  });

  describe('email', () => {
    it.each(['ada@example.com', 'ada.lovelace+orders@mail.example.co.uk', "o'brien@example.ie"])('accepts %s', (address) => {
      expect(() => new Violations().email('email', address).throwIfAny()).not.toThrow();
    });

    it.each([
      'Ada <ada@example.com>',
      '<ada@example.com>',
      'ada@example.com, eve@example.com',
      'ada@example.com;eve@example.com',
      'group:ada@example.com;',
      'ada @example.com',
      '"ada"@example.com',
      'ada@localhost',
      'ada@@example.com',
      '.ada@example.com',
      'a..da@example.com',
      `${'a'.repeat(65)}@example.com`,
      `ada@${'a'.repeat(250)}.com`,
      'ada@example.com\r\nBcc: eve@example.com',
    ])('refuses %j', (address) => {
      expect(() => new Violations().email('email', address).throwIfAny()).toThrow(ValidationError);
    });
  });
});
