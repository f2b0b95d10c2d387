import { describe, expect, it } from 'vitest';
import { applyUpdate, updateInPlace, upsertDocument } from './document-update.js';

describe('applyUpdate', () => {
  const doc = { _id: 'a', qty: 1, tags: ['x'], meta: { color: 'red' } };

  it('sets, unsets and increments dotted paths, creating objects on the way, without changing its input', () => {
    const input = structuredClone(doc);
    const out = applyUpdate(input, { $set: { 'meta.size': 4, 'deep.er.path': true }, $unset: { 'meta.color': '' }, $inc: { qty: 2, fresh: 5 } });
    expect(out).toEqual({ _id: 'a', qty: 3, fresh: 5, tags: ['x'], meta: { size: 4 }, deep: { er: { path: true } } });
    expect(input).toEqual(doc);
  });

  it('pushes values or $each lists, and adds to a set only what is absent (Dates by instant)', () => {
    const at = new Date('2030-01-01T00:00:00Z');
    expect(applyUpdate(doc, { $push: { tags: { $each: ['y', 'x'] }, fresh: 1 } })).toMatchObject({ tags: ['x', 'y', 'x'], fresh: [1] });
    const withDate = applyUpdate(doc, { $addToSet: { tags: { $each: ['x', 'v', 'v'] }, dates: at } });
    expect(applyUpdate(withDate, { $addToSet: { dates: new Date(at.getTime()) } })).toMatchObject({ tags: ['x', 'v'], dates: [at] });
  });

  it('takes the greater or lesser value with $max and $min, and sets a missing field', () => {
    expect(applyUpdate(doc, { $max: { qty: 7, version: 2 }, $min: { low: 3 } })).toMatchObject({ qty: 7, version: 2, low: 3 });
    expect(applyUpdate(doc, { $max: { qty: 0 } })).toMatchObject({ qty: 1 });
    const at = new Date('2030-01-01T00:00:00Z');
    expect(applyUpdate({ _id: 'd', at }, { $min: { at: new Date('2020-01-01T00:00:00Z') } }).at).toEqual(new Date('2020-01-01T00:00:00Z'));
  });

  it('applies $setOnInsert only when inserting', () => {
    expect(applyUpdate(doc, { $setOnInsert: { created: 1 }, $set: { qty: 2 } })).toEqual({ ...doc, qty: 2 });
    expect(applyUpdate(doc, { $setOnInsert: { created: 1 } }, true)).toEqual({ ...doc, created: 1 });
  });

  it('refuses bad updates with a TypeError naming the problem', () => {
    expect(() => applyUpdate(doc, {})).toThrow(/at least one operator/);
    expect(() => applyUpdate(doc, { $rename: { a: 'b' } } as never)).toThrow(/\$rename/);
    expect(() => applyUpdate(doc, { $inc: { 'meta.color': 1 } })).toThrow(/non-number/);
    expect(() => applyUpdate(doc, { $push: { qty: 1 } })).toThrow(/not an array/);
    expect(() => applyUpdate(doc, { $set: { 'meta.color.shade': 1 } })).toThrow(/color holds/);
    expect(() => applyUpdate(doc, { $set: { meta: {} }, $inc: { 'meta.size': 1 } })).toThrow(/meta and meta.size/);
    expect(() => applyUpdate(doc, { $set: { _id: 'b' } })).toThrow(/_id/);
  });

  it('updates array elements by index', () => {
    expect(applyUpdate({ _id: 'a', lines: [{ qty: 1 }, { qty: 2 }] }, { $inc: { 'lines.1.qty': 5 } })).toEqual({ _id: 'a', lines: [{ qty: 1 }, { qty: 7 }] });
  });
});

describe('updateInPlace', () => {
  it('changes the document it is given and shares no object with the update', () => {
    const doc = { _id: 'a', qty: 1, meta: { color: 'red' } };
    const size = { w: 2 };
    const out = updateInPlace(doc, { $set: { 'meta.size': size }, $inc: { qty: 1 }, $push: { tags: size } });
    expect(out).toBe(doc);
    expect(doc).toEqual({ _id: 'a', qty: 2, meta: { color: 'red', size: { w: 2 } }, tags: [{ w: 2 }] });
    size.w = 3;
    expect(doc.meta).toEqual({ color: 'red', size: { w: 2 } });
  });

  it('refuses a change of _id, an object _id included', () => {
    expect(() => updateInPlace({ _id: 'a' }, { $set: { _id: 'b' } })).toThrow(/_id/);
    expect(() => updateInPlace({ _id: { k: 1 } } as never, { $set: { '_id.k': 2 } })).toThrow(/_id/);
  });
});

describe('upsertDocument', () => {
  it('builds the document from the filter equalities (also in $and), the update and $setOnInsert', () => {
    const filter = { _id: 'a', 'meta.color': 'red', version: { $lt: 3 }, $and: [{ sku: { $eq: 'A' } }], $or: [{ x: 1 }] };
    expect(upsertDocument(filter, { $inc: { qty: 1 }, $setOnInsert: { created: 'now' } })).toEqual({
      _id: 'a',
      meta: { color: 'red' },
      sku: 'A',
      qty: 1,
      created: 'now',
    });
  });

  it('takes _id from the update, else makes a string one', () => {
    expect(upsertDocument({ sku: 'N' }, { $setOnInsert: { _id: 'given' } })._id).toBe('given');
    expect(upsertDocument({ sku: 'N' }, { $set: { qty: 3 } })._id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
