import { describe, expect, it } from 'vitest';
import { compareValues, matches, sortDocuments, valuesAt } from './document-filter.js';
import { decodeJson, encodeJson } from './document-json.js';

const at = new Date('2026-11-23T10:00:00.123Z');
const doc = {
  _id: 'a',
  sku: 'A',
  qty: 5,
  paid: false,
  tags: ['red', 'big'],
  meta: { color: 'red', size: 3 },
  lines: [{ sku: 'L1', qty: 1 }, { sku: 'L2', qty: 4 }],
  at,
};

describe('matches', () => {
  it.each([
    [{ sku: 'A' }, true],
    [{ 'meta.color': 'red' }, true],
    [{ tags: 'big' }, true],
    [{ tags: ['red', 'big'] }, true],
    [{ 'lines.sku': 'L2' }, true],
    [{ 'lines.1.qty': 4 }, true],
    [{ 'lines.qty': { $gt: 3 } }, true],
    [{ 'lines.qty': { $gt: 4 } }, false],
    [{ qty: { $gte: 5, $lt: 6 } }, true],
    [{ qty: { $gt: '1' } }, false], // no comparison across types
    [{ paid: false }, true],
    [{ paid: 0 }, false],
    [{ sku: { $in: ['B', 'A'] } }, true],
    [{ tags: { $in: ['blue', 'big'] } }, true],
    [{ sku: { $nin: ['A'] } }, false],
    [{ sku: { $ne: 'B' } }, true],
    [{ missing: { $ne: 1 } }, true],
    [{ missing: { $exists: false } }, true],
    [{ 'meta.size': { $exists: true } }, true],
    [{ at: new Date(at.getTime()) }, true],
    [{ at: { $gt: new Date('2026-11-23T10:00:00Z'), $lte: at } }, true],
    [{ at: { $gt: at.toISOString() } }, false],
    [{ $or: [{ sku: 'B' }, { qty: 5 }] }, true],
    [{ $and: [{ sku: 'A' }, { qty: 4 }] }, false],
    [{ meta: { color: 'red', size: 3 } }, true],
  ])('%j → %s', (filter, expected) => {
    expect(matches(doc, filter)).toBe(expected);
  });

  it('refuses operators outside the subset', () => {
    expect(() => matches(doc, { sku: { $regex: 'A' } })).toThrow(/\$regex/);
    expect(() => matches(doc, { $where: 'true' })).toThrow(/\$where/);
    expect(() => matches(doc, { qty: { $gt: 1, plain: 2 } })).toThrow(/mixes/);
    expect(() => matches(doc, { sku: { $in: 'A' } })).toThrow(/list/);
  });
});

describe('valuesAt', () => {
  it('enters arrays of objects and reaches nothing on a missing path', () => {
    expect(valuesAt(doc, 'lines.sku')).toEqual(['L1', 'L2']);
    expect(valuesAt(doc, 'tags')).toEqual([['red', 'big']]);
    expect(valuesAt(doc, 'meta.nope')).toEqual([]);
  });
});

describe('compareValues and sortDocuments', () => {
  it('orders by type first, then by value; strings by code point as SQLite does', () => {
    expect(compareValues(1, 'a')).toBeLessThan(0);
    expect(compareValues('b', 'a')).toBeGreaterThan(0);
    // U+FF5E sorts below U+1F600 by code point, although its UTF-16 unit is the greater one.
    expect(compareValues('\uff5e', '😀')).toBeLessThan(0);
    expect(compareValues(new Date(1), new Date(2))).toBeLessThan(0);
  });

  it('sorts on several keys, missing first ascending, arrays by their least or greatest element', () => {
    const docs = [{ _id: 'a', n: 2, s: 'x' }, { _id: 'b', n: 1, s: 'y' }, { _id: 'c', s: 'x' }, { _id: 'd', n: [0, 9], s: 'z' }];
    expect(sortDocuments([...docs], { s: 1, n: -1 }).map((d) => d._id)).toEqual(['a', 'c', 'b', 'd']);
    expect(sortDocuments([...docs], { n: 1 }).map((d) => d._id)).toEqual(['c', 'd', 'b', 'a']);
    expect(sortDocuments([...docs], { n: -1 }).map((d) => d._id)).toEqual(['d', 'a', 'b', 'c']);
  });
});

describe('document JSON', () => {
  it('round-trips Dates anywhere in a document, and leaves other objects alone', () => {
    const value = { at, list: [at, { at }], nested: { at }, plain: { date: 'x' } };
    const text = encodeJson(value);
    expect(text).toContain('{"$date":"2026-11-23T10:00:00.123Z"}');
    expect(decodeJson(text)).toEqual(value);
    expect(decodeJson<{ list: unknown[] }>(text).list[0]).toBeInstanceOf(Date);
  });
});
