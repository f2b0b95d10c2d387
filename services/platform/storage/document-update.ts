// The update operators of types.ts (`Update`), applied to a document in memory the way MongoDB
// applies them, and the document an upsert inserts. Nothing here changes its inputs, except
// `updateInPlace` the document it is given.
import { randomUUID } from 'node:crypto';
import { assertUpdate, isPlainObject } from './checks.js';
import { compareValues, equals, isOperatorObject } from './document-filter.js';
import type { Doc, Filter, Update } from './types.js';

/** `doc` with `update` applied; `$setOnInsert` applies only when `inserting`. Throws a TypeError on a bad update. */
export function applyUpdate<T extends Record<string, unknown>>(doc: T, update: Update, inserting = false): T {
  return updateInPlace(structuredClone(doc), update, inserting);
}

/**
 * `applyUpdate` on `doc` itself, for a document nobody else holds (one just decoded): it saves a
 * copy. A throw may leave `doc` half-updated. Values taken from `update` are copied into it.
 */
export function updateInPlace<T extends Record<string, unknown>>(doc: T, update: Update, inserting = false): T {
  assertUpdate(update);
  assertDisjointPaths(update);
  const result = doc as Record<string, unknown>;
  const id = copyOf(result._id);
  for (const [op, fields] of Object.entries(update) as [keyof Update, Record<string, unknown>][]) {
    if (!isPlainObject(fields)) throw new TypeError(`${op} needs an object of paths, got ${JSON.stringify(fields)}`);
    if (op === '$setOnInsert' && !inserting) continue;
    for (const [path, value] of Object.entries(fields)) applyOperator(result, op, path, value);
  }
  if (!inserting && !equals(result._id, id)) throw new TypeError(`an update may not change _id (${JSON.stringify(id)})`);
  return doc;
}

function applyOperator(doc: Record<string, unknown>, op: keyof Update, path: string, value: unknown): void {
  const { parent, key, current } = locate(doc, path, op !== '$unset');
  if (parent === undefined) return; // $unset of a path that is not there
  switch (op) {
    case '$set':
    case '$setOnInsert':
      assign(parent, key, copyOf(value));
      return;
    case '$unset':
      if (Array.isArray(parent)) parent[Number(key)] = null; // MongoDB keeps the array's length
      else delete parent[key];
      return;
    case '$inc':
      if (typeof value !== 'number') throw new TypeError(`$inc of ${path} needs a number, got ${JSON.stringify(value)}`);
      if (current !== undefined && typeof current !== 'number') throw new TypeError(`$inc of ${path}: the field holds a non-number`);
      assign(parent, key, ((current as number | undefined) ?? 0) + value);
      return;
    case '$push':
    case '$addToSet': {
      if (current !== undefined && !Array.isArray(current)) throw new TypeError(`${op} to ${path}: the field is not an array`);
      const list = (current as unknown[] | undefined) ?? [];
      const items = isOperatorObject(value) ? eachOf(op, path, value) : [value];
      for (const item of items) if (op === '$push' || !list.some((e) => equals(e, item))) list.push(copyOf(item));
      assign(parent, key, list);
      return;
    }
    case '$max':
    case '$min': {
      const order = current === undefined ? 0 : compareValues(value, current);
      if (current === undefined || (op === '$max' ? order > 0 : order < 0)) assign(parent, key, copyOf(value));
      return;
    }
  }
}

/** structuredClone(value), skipped for the plain primitives it would return as they are (it costs a microsecond even for those). */
function copyOf<V>(value: V): V {
  const type = typeof value;
  if (value === null || type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined') return value;
  return structuredClone(value); // and a function or symbol throws, as before
}

function eachOf(op: string, path: string, value: Record<string, unknown>): unknown[] {
  const { $each, ...rest } = value;
  if (!Array.isArray($each) || Object.keys(rest).length > 0) throw new TypeError(`${op} to ${path} supports only { $each: [...] }`);
  return $each;
}

/**
 * The object (or array) holding the last segment of `path`, creating missing objects on the way
 * when `create`; throws when the path runs through a value that cannot hold fields.
 */
function locate(
  doc: Record<string, unknown>,
  path: string,
  create: boolean,
): { parent: Record<string, unknown> | unknown[] | undefined; key: string; current: unknown } {
  const segments = path.split('.');
  const key = segments.pop()!;
  let node: Record<string, unknown> | unknown[] = doc;
  for (const segment of segments) {
    let next: unknown = Array.isArray(node) ? node[indexOf(path, segment)] : node[segment];
    if (next === undefined || next === null) {
      if (!create) return { parent: undefined, key, current: undefined };
      next = {};
      assign(node, segment, next);
    }
    if (!isPlainObject(next) && !Array.isArray(next)) throw new TypeError(`cannot update ${path}: ${segment} holds ${JSON.stringify(next)}`);
    node = next;
  }
  const current = Array.isArray(node) ? node[indexOf(path, key)] : node[key];
  return { parent: node, key, current };
}

function indexOf(path: string, segment: string): number {
  if (!/^\d+$/.test(segment)) throw new TypeError(`cannot update ${path}: ${segment} is not an array index`);
  return Number(segment);
}

function assign(node: Record<string, unknown> | unknown[], key: string, value: unknown): void {
  if (Array.isArray(node)) {
    const index = Number(key);
    while (node.length < index) node.push(null);
    node[index] = value;
  } else {
    node[key] = value;
  }
}

// MongoDB refuses an update whose operators touch one path twice, or a path and its parent.
function assertDisjointPaths(update: Update): void {
  const paths = Object.values(update).flatMap((fields) => (isPlainObject(fields) ? Object.keys(fields) : []));
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1] || sorted[i]!.startsWith(`${sorted[i - 1]}.`)) {
      throw new TypeError(`update touches ${sorted[i - 1]} and ${sorted[i]} at once`);
    }
  }
}

/**
 * The document an upsert inserts, as MongoDB builds it: the filter's equalities (top level and
 * inside `$and`, dotted paths expanded), then the update including `$setOnInsert`; `_id` from the
 * filter or the update, else a fresh UUID, so ids stay strings.
 */
export function upsertDocument(filter: Filter, update: Update): Doc {
  const seed: Record<string, unknown> = {};
  copyEqualities(filter, seed);
  const doc = applyUpdate(seed, update, true);
  const { _id = randomUUID(), ...rest } = doc;
  return { _id, ...rest } as Doc;
}

function copyEqualities(filter: Filter, into: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) copyEqualities(part, into);
      continue;
    }
    if (key.startsWith('$')) continue;
    if (isOperatorObject(value)) {
      if ('$eq' in value) applyOperator(into, '$set', key, value.$eq);
      continue;
    }
    applyOperator(into, '$set', key, value);
  }
}
