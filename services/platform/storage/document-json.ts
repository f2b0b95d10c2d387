// How the embedded engine writes a document as JSON text. JSON has no Date, so a Date becomes
// MongoDB Extended JSON's `{"$date":"<ISO 8601>"}` (field names starting with `$` are outside the
// contract, so no document can hold that shape itself). The ISO form has a fixed width for years
// 0000-9999, so SQLite compares two encoded Dates as text in time order, which is what lets a
// range on a Date field run on an SQL index.

const DATE_PREFIX = '{"$date":"';

/** JSON text of a document or value, Dates in their tagged form. */
export function encodeJson(value: unknown): string {
  // A replacer costs a call per value; tagging the Dates first and stringifying without one is
  // 2-4x faster on documents. Other objects (class instances, `toJSON`) keep the replacer's path.
  const tagged = withTaggedDates(value);
  return tagged === NOT_PLAIN ? JSON.stringify(value, dateReplacer) : JSON.stringify(tagged);
}

/** The value `encodeJson` wrote, tagged Dates revived. */
export function decodeJson<T = unknown>(text: string): T {
  const value: unknown = JSON.parse(text);
  // A walk after parsing adds about a tenth of what a JSON.parse reviver (a call per value) adds.
  return (text.includes('"$date"') && typeof value === 'object' && value !== null ? revive(value) : value) as T;
}

/** The text a Date has inside encoded documents (what `json_extract` returns for it). */
export function encodeDate(date: Date): string {
  return `${DATE_PREFIX}${date.toISOString()}"}`;
}

const NOT_PLAIN = Symbol('not plain JSON data');

/**
 * `value` with every Date replaced by its tagged form, copying only the arrays and objects on the
 * way to one (`value` itself when it holds none); NOT_PLAIN when it holds an object other than a
 * Date, an array or a plain object without `toJSON`, which JSON.stringify would treat its own way.
 */
function withTaggedDates(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      if (typeof element !== 'object' || element === null) continue;
      const tagged = withTaggedDates(element);
      if (tagged === NOT_PLAIN) return NOT_PLAIN;
      if (tagged !== element) (copy ??= value.slice())[i] = tagged;
    }
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return NOT_PLAIN;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in record) {
    const field = record[key];
    if (typeof field !== 'object' || field === null) continue;
    const tagged = withTaggedDates(field);
    if (tagged === NOT_PLAIN) return NOT_PLAIN;
    if (tagged !== field && Object.hasOwn(record, key)) (copy ??= { ...record })[key] = tagged; // JSON.stringify reads own fields only
  }
  return copy ?? record;
}

function dateReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify has already called Date#toJSON on `value`; the holder still has the Date.
  const raw = this[key];
  return raw instanceof Date ? { $date: raw.toISOString() } : value;
}

function revive(node: object): unknown {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const value: unknown = node[i];
      if (typeof value === 'object' && value !== null) node[i] = revive(value);
    }
    return node;
  }
  const record = node as Record<string, unknown>;
  if (typeof record.$date === 'string' && Object.keys(record).length === 1) return new Date(record.$date);
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'object' && value !== null) record[key] = revive(value);
  }
  return record;
}
