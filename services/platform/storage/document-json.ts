// How the embedded engine writes a document as JSON text. JSON has no Date, so a Date becomes
// MongoDB Extended JSON's `{"$date":"<ISO 8601>"}` (field names starting with `$` are outside the
// contract, so no document can hold that shape itself). The ISO form has a fixed width for years
// 0000-9999, so SQLite compares two encoded Dates as text in time order, which is what lets a
// range on a Date field run on an SQL index.

const DATE_PREFIX = '{"$date":"';

/** JSON text of a document or value, Dates in their tagged form. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, dateReplacer);
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
