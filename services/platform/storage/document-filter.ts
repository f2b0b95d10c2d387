// The query subset of types.ts (`Filter`), evaluated on a document in memory the way MongoDB
// evaluates it. The embedded engine narrows candidates with SQL and decides with `matches`, so
// this module alone defines what a filter means there.
import { isPlainObject } from './checks.js';
import type { Filter, Sort } from './types.js';

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists']);

/** Whether `doc` satisfies `filter`; throws a TypeError on an operator outside the subset. */
export function matches(doc: unknown, filter: Filter): boolean {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$or' || key === '$and') {
      if (!Array.isArray(condition) || condition.length === 0 || !condition.every(isPlainObject)) {
        throw new TypeError(`${key} needs a non-empty list of filters`);
      }
      const parts = condition as Filter[];
      const ok = key === '$or' ? parts.some((part) => matches(doc, part)) : parts.every((part) => matches(doc, part));
      if (!ok) return false;
      continue;
    }
    if (key.startsWith('$')) throw new TypeError(`query operator ${JSON.stringify(key)} is not supported`);
    if (!matchesField(valuesAt(doc, key), condition)) return false;
  }
  return true;
}

/**
 * The values a dotted path reaches: an array met before the last segment is entered element by
 * element (`lines.sku` reaches every line's sku), a numeric segment indexes an array; a missing
 * path reaches nothing. An array at the end of the path is returned whole.
 */
export function valuesAt(doc: unknown, path: string): unknown[] {
  let nodes: unknown[] = [doc];
  for (const segment of path.split('.')) {
    const next: unknown[] = [];
    for (const node of nodes) step(node, segment, next);
    nodes = next;
  }
  return nodes;
}

function step(node: unknown, segment: string, out: unknown[]): void {
  if (Array.isArray(node)) {
    if (/^\d+$/.test(segment)) {
      if (Number(segment) < node.length) out.push(node[Number(segment)]);
      return;
    }
    for (const element of node) if (isPlainObject(element)) step(element, segment, out);
    return;
  }
  if (isPlainObject(node) && Object.hasOwn(node, segment) && node[segment] !== undefined) out.push(node[segment]);
}

/** True for `{ $gt: 1 }`-style conditions; a mix of operators and plain keys is refused. */
export function isOperatorObject(condition: unknown): condition is Record<string, unknown> {
  if (!isPlainObject(condition)) return false;
  const keys = Object.keys(condition);
  const operators = keys.filter((k) => k.startsWith('$')).length;
  if (operators > 0 && operators < keys.length) throw new TypeError(`condition ${JSON.stringify(condition)} mixes operators and fields`);
  return operators > 0;
}

function matchesField(values: unknown[], condition: unknown): boolean {
  if (!isOperatorObject(condition)) return matchesOperator(values, '$eq', condition);
  return Object.entries(condition).every(([op, argument]) => matchesOperator(values, op, argument));
}

function matchesOperator(values: unknown[], op: string, argument: unknown): boolean {
  if (!FIELD_OPERATORS.has(op)) throw new TypeError(`query operator ${JSON.stringify(op)} is not supported`);
  switch (op) {
    case '$eq':
      return values.length === 0 ? argument === null : values.some((v) => equals(v, argument) || (Array.isArray(v) && v.some((e) => equals(e, argument))));
    case '$ne':
      return !matchesOperator(values, '$eq', argument);
    case '$in':
      return listOf(op, argument).some((candidate) => matchesOperator(values, '$eq', candidate));
    case '$nin':
      return !matchesOperator(values, '$in', argument);
    case '$exists':
      return Boolean(argument) === values.length > 0;
    default:
      // Comparisons hold only within one type, as in MongoDB (`{ $gt: 5 }` never matches a string).
      return values.some((v) => (Array.isArray(v) ? v : [v]).some((e) => typeRank(e) === typeRank(argument) && satisfies(op, compareValues(e, argument))));
  }
}

function satisfies(op: string, order: number): boolean {
  if (op === '$gt') return order > 0;
  if (op === '$gte') return order >= 0;
  if (op === '$lt') return order < 0;
  return order <= 0;
}

function listOf(op: string, argument: unknown): unknown[] {
  if (!Array.isArray(argument)) throw new TypeError(`${op} needs a list, got ${JSON.stringify(argument)}`);
  return argument;
}

/** Deep equality: Dates by instant, arrays in order, objects by their keys. */
export function equals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((e, i) => equals(e, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    return keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length && keys.every((k) => Object.hasOwn(b, k) && equals(a[k], b[k]));
  }
  return false;
}

// MongoDB's order of types (BSON comparison order) for the types a document can hold.
function typeRank(value: unknown): number {
  if (value === null || value === undefined) return 1;
  if (typeof value === 'number') return 2;
  if (typeof value === 'string') return 3;
  if (Array.isArray(value)) return 5;
  if (typeof value === 'boolean') return 8;
  if (value instanceof Date) return 9;
  return 4;
}

/** Total order on values: by type (MongoDB's order), then by value; strings by code point, as SQLite compares UTF-8. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return rank;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return compareLists(a, b);
  if (isPlainObject(a) && isPlainObject(b)) return compareLists(Object.entries(a).flat(), Object.entries(b).flat());
  return 0;
}

function compareLists(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareValues(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    // UTF-16 units order surrogates (astral code points) below U+E000-U+FFFF; shift them above.
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

function codePointOrder(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** Sorts in place by `sort`; an array field sorts by its least (ascending) or greatest (descending) element. */
export function sortDocuments<T>(docs: T[], sort: Sort): T[] {
  const keys = Object.entries(sort);
  const sortValue = (doc: T, path: string, direction: number): unknown => {
    const values = valuesAt(doc, path).flatMap((v) => (Array.isArray(v) && v.length > 0 ? v : [v]));
    if (values.length === 0) return null;
    return values.reduce((best, v) => (compareValues(v, best) * direction < 0 ? v : best));
  };
  return docs.sort((a, b) => {
    for (const [path, direction] of keys) {
      const order = compareValues(sortValue(a, path, direction), sortValue(b, path, direction)) * direction;
      if (order !== 0) return order;
    }
    return 0;
  });
}
