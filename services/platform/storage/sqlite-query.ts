// Filters and sorts as SQL over a collection table `(id TEXT PRIMARY KEY, doc TEXT)`. The SQL only
// narrows: a WHERE clause built here admits every document the filter matches (and maybe more),
// and the engine decides each candidate with `matches` (document-filter.ts). So a condition is
// generated only where SQL cannot drop a match:
// - paths that are, or run through, an array in some document of the collection (the engine
//   records those paths as documents are written) are left to JavaScript: `json_extract` sees an
//   array as one JSON text, MongoDB sees its elements;
// - `$ne`, `$nin` and conditions on objects, arrays or other non-scalar values are left out;
// - equality, `$in`, `$gt`, `$gte`, `$lt`, `$lte` on a string, number, boolean or Date, and
//   `$exists`, become `json_extract(doc, '$.path') <op> ?`: the same expression as the SQL index
//   `createIndex` builds (indexExpression), so SQLite answers them from that index.
import { isPlainObject } from './checks.js';
import { isOperatorObject } from './document-filter.js';
import { encodeDate, encodeJson } from './document-json.js';
import type { Filter, Sort } from './types.js';

/** An SQL boolean expression and its parameters; an empty `sql` means no condition. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/** Identifier quoting for table and index names. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The SQL expression of a field: the `id` column for `_id`, else `json_extract` of the path as a
 * literal (an expression index is matched on identical text, so the path is never a parameter).
 * Undefined when SQLite's JSON path syntax cannot name it (a segment containing `"`).
 */
export function fieldExpression(path: string): string | undefined {
  if (path === '_id') return 'id';
  const segments = path.split('.');
  if (segments.some((s) => s.length === 0 || s.includes('"'))) return undefined;
  const jsonPath = `$${segments.map((s) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `.${s}` : `."${s}"`)).join('')}`;
  return `json_extract(doc, '${jsonPath.replaceAll("'", "''")}')`;
}

/** The expression list of the SQL index behind `createIndex(keys)`, or undefined when a path has no SQL form. */
export function indexExpression(keys: Sort): string | undefined {
  const parts: string[] = [];
  for (const [path, direction] of Object.entries(keys)) {
    const expression = fieldExpression(path);
    if (expression === undefined) return undefined;
    parts.push(direction === -1 ? `${expression} DESC` : expression);
  }
  return parts.join(', ');
}

/** The dotted paths at which `doc` holds an array (paths inside arrays of objects included, without indexes). */
export function arrayPathsOf(doc: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(node)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (Array.isArray(value)) {
        found.add(path);
        for (const element of value) if (isPlainObject(element)) walk(element, path);
      } else if (isPlainObject(value)) {
        walk(value, path);
      }
    }
  };
  walk(doc, '');
  return [...found];
}

/** A WHERE condition admitting every document `filter` matches, given the collection's array paths. */
export function whereClause(filter: Filter, arrayPaths: ReadonlySet<string>): SqlCondition {
  const parts: SqlCondition[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(condition)) {
      for (const part of condition) if (isPlainObject(part)) parts.push(whereClause(part, arrayPaths));
    } else if (key === '$or' && Array.isArray(condition)) {
      const branches = condition.map((part) => (isPlainObject(part) ? whereClause(part, arrayPaths) : { sql: '', params: [] }));
      // One unconstrained branch makes the whole $or unconstrained.
      if (branches.length > 0 && branches.every((b) => b.sql !== '')) parts.push(join(branches, ' OR '));
    } else if (!key.startsWith('$')) {
      parts.push(fieldCondition(key, condition, arrayPaths));
    }
  }
  return join(parts, ' AND ');
}

/** The SELECT of a collection's candidate documents; `sorted` is false when JavaScript must sort them. */
export function selectSql(table: string, filter: Filter, sort: Sort | undefined, arrayPaths: ReadonlySet<string>): SqlCondition & { sorted: boolean } {
  const where = whereClause(filter, arrayPaths);
  const order = sort ? orderBy(sort, arrayPaths) : '';
  const sql = `SELECT doc FROM ${quoteIdentifier(table)}${where.sql ? ` WHERE ${where.sql}` : ''}${order ? ` ORDER BY ${order}` : ''}`;
  return { sql, params: where.params, sorted: order !== undefined };
}

/** ORDER BY terms for `sort`, or undefined when a sort path holds arrays (the engine sorts in JavaScript then). */
export function orderBy(sort: Sort, arrayPaths: ReadonlySet<string>): string | undefined {
  const terms: string[] = [];
  for (const [path, direction] of Object.entries(sort)) {
    const expression = throughArray(path, arrayPaths) ? undefined : fieldExpression(path);
    if (expression === undefined) return undefined;
    terms.push(`${expression} ${direction === -1 ? 'DESC' : 'ASC'}`);
  }
  return terms.join(', ');
}

function fieldCondition(path: string, condition: unknown, arrayPaths: ReadonlySet<string>): SqlCondition {
  const expression = throughArray(path, arrayPaths) ? undefined : fieldExpression(path);
  if (expression === undefined) return none;
  let operators: Record<string, unknown>;
  try {
    operators = isOperatorObject(condition) ? condition : { $eq: condition };
  } catch {
    return none; // a malformed condition: `matches` reports it
  }
  const parts: SqlCondition[] = [];
  for (const [op, argument] of Object.entries(operators)) {
    if (op === '$eq') parts.push(equality(expression, argument));
    else if (op === '$in') parts.push(membership(expression, argument));
    else if (op in COMPARISONS) {
      const value = sqlValue(argument);
      if (value !== undefined && value !== null) parts.push({ sql: `${expression} ${COMPARISONS[op]} ?`, params: [value] });
    } else if (op === '$exists' && expression !== 'id') {
      parts.push({ sql: `${expression.replace('json_extract', 'json_type')} IS ${argument ? 'NOT ' : ''}NULL`, params: [] });
    }
  }
  return join(parts, ' AND ');
}

const COMPARISONS: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

const none: SqlCondition = { sql: '', params: [] };

function equality(expression: string, argument: unknown): SqlCondition {
  const value = sqlValue(argument);
  if (value === undefined) return none;
  // `json_extract` gives NULL for a missing path and for JSON null; both match `null`.
  return value === null ? { sql: `${expression} IS NULL`, params: [] } : { sql: `${expression} = ?`, params: [value] };
}

function membership(expression: string, argument: unknown): SqlCondition {
  if (!Array.isArray(argument) || argument.length === 0) return none;
  const values = argument.map(sqlValue);
  if (values.some((v) => v === undefined)) return none;
  const present = argument.filter((v) => v !== null);
  // One parameter whatever the list's length: json_each yields SQL values as json_extract does.
  const sql = `${expression} IN (SELECT value FROM json_each(?))${present.length < argument.length ? ` OR ${expression} IS NULL` : ''}`;
  return { sql: present.length < argument.length ? `(${sql})` : sql, params: [encodeJson(present)] };
}

/**
 * The SQL value `json_extract` yields for a stored scalar: booleans are 1 and 0, a Date its tagged
 * JSON text. Undefined for values SQL does not compare like MongoDB (objects, arrays, NaN).
 */
function sqlValue(value: unknown): string | number | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return encodeDate(value);
  return undefined;
}

function throughArray(path: string, arrayPaths: ReadonlySet<string>): boolean {
  if (arrayPaths.size === 0 || path === '_id') return false;
  let prefix = '';
  for (const segment of path.split('.')) {
    prefix = prefix ? `${prefix}.${segment}` : segment;
    if (arrayPaths.has(prefix)) return true;
  }
  return false;
}

function join(parts: SqlCondition[], separator: string): SqlCondition {
  const used = parts.filter((p) => p.sql !== '');
  if (used.length === 0) return none;
  if (used.length === 1) return used[0]!;
  return { sql: used.map((p) => `(${p.sql})`).join(separator), params: used.flatMap((p) => p.params) };
}
