import type { Update } from './types.js';

// Both adapters reject the same bad input up front, so a caller cannot rely on one engine's
// leniency (an operator-less update would be a replacement elsewhere; MongoDB rejects it).

// Collection names become table names in the embedded engine and must stay plain on both:
// no separators, no leading dot, no ':' (the embedded engine's own tables use it).
const COLLECTION_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,119}$/;

const UPDATE_OPERATORS = new Set(['$set', '$unset', '$inc', '$push', '$addToSet', '$setOnInsert', '$max', '$min']);

/** Throws a TypeError naming the collection when it cannot be used as a name on both engines. */
export function assertCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name)) {
    throw new TypeError(`collection name ${JSON.stringify(name)} must match ${COLLECTION_NAME}`);
  }
}

/** Throws a TypeError when the update is empty or uses an operator outside the supported set. */
export function assertUpdate(update: Update): void {
  const operators = Object.keys(update);
  if (operators.length === 0) throw new TypeError('update must contain at least one operator');
  for (const op of operators) {
    if (!UPDATE_OPERATORS.has(op)) {
      throw new TypeError(`update operator ${JSON.stringify(op)} is not supported (use ${[...UPDATE_OPERATORS].join(', ')})`);
    }
  }
}

/** True for `{...}` literals (not arrays, Dates or class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
