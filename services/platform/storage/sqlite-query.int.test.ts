import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventStore } from '../eventstore/event-store.js';
import { silentLogger } from '../logging.js';
import { DATABASE_FILE, openEmbeddedStore } from './embedded.js';
import { selectSql, whereClause } from './sqlite-query.js';
import type { DocumentStore, Filter, Sort } from './types.js';

describe('filters as SQL', () => {
  const noArrays = new Set<string>();

  it('turns equality, $in, ranges and $exists on scalar paths into json_extract conditions', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(whereClause({ streamId: 's', lastVersion: { $gte: 3 } }, noArrays)).toEqual({
      sql: `(json_extract(doc, '$.streamId') = ?) AND (json_extract(doc, '$.lastVersion') >= ?)`,
      params: ['s', 3],
    });
    expect(whereClause({ published: false, committedAt: { $lte: at } }, noArrays).params).toEqual([0, '{"$date":"2026-01-01T00:00:00.000Z"}']);
    expect(whereClause({ _id: { $in: ['a', 'b'] } }, noArrays)).toEqual({ sql: 'id IN (SELECT value FROM json_each(?))', params: ['["a","b"]'] });
    expect(whereClause({ 'total.currency': 'EUR', x: { $exists: false } }, noArrays).sql).toBe(
      `(json_extract(doc, '$.total.currency') = ?) AND (json_type(doc, '$.x') IS NULL)`,
    );
  });

  it('leaves to JavaScript what SQL would get wrong: array paths, $ne, $nin, objects, and $or branches without SQL', () => {
    const arrays = new Set(['tags', 'lines']);
    expect(whereClause({ tags: 'x', 'lines.sku': 'L1', sku: { $ne: 'A', $nin: ['B'] }, meta: { color: 'red' } }, arrays).sql).toBe('');
    expect(whereClause({ $or: [{ sku: 'A' }, { tags: 'x' }] }, arrays).sql).toBe('');
    expect(whereClause({ $or: [{ sku: 'A' }, { qty: 1 }], tags: 'x' }, arrays).sql).toBe(`(json_extract(doc, '$.sku') = ?) OR (json_extract(doc, '$.qty') = ?)`);
    expect(selectSql('items', {}, { tags: 1 }, arrays).sorted).toBe(false);
  });
});

describe('query plans of the hot paths', () => {
  let dir = '';
  let store: DocumentStore;
  let db: Database.Database;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'orderflow-plans-'));
    store = await openEmbeddedStore(dir);
    const events = createEventStore({ store, logger: silentLogger() });
    await events.start();
    for (let i = 0; i < 20; i++) await events.append(`order-${i % 4}`, 'any', [{ type: 'orderflow.test.v1.Thing', data: new Uint8Array([i]) }]);
    db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  });
  afterAll(async () => {
    db.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The plan of the statement the engine runs, given the array paths the commits recorded.
  const plan = (filter: Filter, sort?: Sort) => {
    const arrays = new Set(db.prepare(`SELECT path FROM "orderflow:arrays" WHERE coll = 'commits'`).pluck().all() as string[]);
    expect(arrays).toEqual(new Set(['events', 'messages']));
    const { sql } = selectSql('commits', filter, sort, arrays);
    const params = sql.split('?').slice(1).map(() => null);
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail).join('\n');
  };

  it('reads a stream head from the stream index, in index order, without sorting', () => {
    const detail = plan({ streamId: 'order-1' }, { lastVersion: -1 });
    expect(detail).toMatch(/SEARCH commits USING INDEX "?commits:streamId_1_lastVersion_1"? \(<expr>=\?\)/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
  });

  it('reads a stream from a version on the same index', () => {
    expect(plan({ streamId: 'order-1', lastVersion: { $gte: 3 } }, { firstVersion: 1 })).toMatch(
      /SEARCH commits USING INDEX "?commits:streamId_1_lastVersion_1"? \(<expr>=\? AND <expr>>\?\)/,
    );
  });

  it('finds unpublished commits for the sweep on the outbox index', () => {
    expect(plan({ published: false, committedAt: { $lte: new Date() } }, { committedAt: 1, firstVersion: 1 })).toMatch(
      /SEARCH commits USING INDEX "?commits:published_1_committedAt_1"? \(<expr>=\? AND <expr><\?\)/,
    );
  });

  it('looks documents up by _id, one or a list, on the primary key', () => {
    expect(plan({ _id: 'order-1@1' })).toMatch(/SEARCH commits USING INDEX sqlite_autoindex_commits_1 \(id=\?\)/);
    expect(plan({ _id: { $in: ['order-1@1', 'order-2@1'] } })).toMatch(/SEARCH commits USING INDEX sqlite_autoindex_commits_1 \(id=\?\)/);
  });
});
