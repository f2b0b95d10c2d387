import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from './document-json.js';

describe('encodeJson', () => {
  const at = new Date('2026-03-04T05:06:07.089Z');
  const tagged = '{"$date":"2026-03-04T05:06:07.089Z"}';

  it('writes every Date in its tagged form, at the top, in objects and in arrays', () => {
    expect(encodeJson(at)).toBe(tagged);
    expect(encodeJson({ _id: 'a', at, lines: [{ at }, at, 1, null], nested: { deeper: { at } } })).toBe(
      `{"_id":"a","at":${tagged},"lines":[{"at":${tagged}},${tagged},1,null],"nested":{"deeper":{"at":${tagged}}}}`,
    );
  });

  it('leaves the value it encodes unchanged', () => {
    const doc = { _id: 'a', at, lines: [{ at }] };
    encodeJson(doc);
    expect(doc).toEqual({ _id: 'a', at, lines: [{ at }] });
    expect(doc.lines[0]!.at).toBeInstanceOf(Date);
  });

  it('writes what JSON.stringify writes for values without Dates, undefined fields and holes included', () => {
    const value = { a: 1, b: 'x', c: [1, undefined, , 'y'], d: undefined, e: { f: true, g: null } };
    expect(encodeJson(value)).toBe(JSON.stringify(value));
  });

  it('tags Dates inside objects that are not plain data as well (class instances, toJSON)', () => {
    class Holder {
      constructor(readonly at: Date) {}
    }
    expect(encodeJson({ holder: new Holder(at) })).toBe(`{"holder":{"at":${tagged}}}`);
    expect(encodeJson({ custom: { toJSON: () => ({ at }) } })).toBe(`{"custom":{"at":${tagged}}}`);
  });

  it('is read back by decodeJson with Dates revived', () => {
    const doc = { _id: 'a', at, lines: [{ at }], n: 1 };
    expect(decodeJson(encodeJson(doc))).toEqual(doc);
  });
});
