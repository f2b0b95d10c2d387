import { buildSchema, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { costLimitError, measureOperation, operationLimitsRule, unsizedListRows } from './limits.js';

const schema = buildSchema(`
  type Query { node: Node orders(first: Int = 20, after: String): OrderConnection! recent(limit: Int = 5): [Order!]! }
  type Node { id: ID! child: Node name: String }
  type OrderConnection { nodes: [Order!]! edges: [OrderEdge!]! }
  type OrderEdge { cursor: String! node: Order! }
  type Order { id: ID! items: [Line!]! }
  type Line { sku: ID! quantity: Int! }
`);
const rule = operationLimitsRule({ maxDepth: 4, maxFields: 6 });
const errors = (query: string) => validate(schema, parse(query), [...specifiedRules, rule]).map((e) => e.message);
const measure = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  return measureOperation(document, getOperationAST(document)!, schema, variables);
};

/** `levels` fragments, each spreading the previous one `fanOut` times: fanOut^levels fields once expanded. */
function fragmentBomb(levels: number, fanOut: number): string {
  const fragments = ['fragment F0 on Node { id name }'];
  for (let i = 1; i <= levels; i++) fragments.push(`fragment F${i} on Node { ${Array(fanOut).fill(`...F${i - 1}`).join(' ')} }`);
  return `{ node { ...F${levels} } } ${fragments.join(' ')}`;
}

describe('operation limits', () => {
  it('lets an operation within both limits through', () => {
    expect(errors('{ node { child { child { id } } } }')).toEqual([]);
  });

  it('counts depth through fragments and inline fragments', () => {
    expect(errors('{ node { ...F } } fragment F on Node { child { ... on Node { child { child { id } } } } }')).toEqual([
      'the operation nests 5 levels deep; the limit is 4',
    ]);
  });

  it('counts every aliased field, and names the operation', () => {
    expect(errors('query Wide { a: node { id } b: node { id } c: node { id } d: node { id } }')).toEqual([
      'operation Wide selects 8 fields; the limit is 6',
    ]);
  });

  it('exempts introspection, and survives a fragment cycle (reported by the spec rules)', () => {
    expect(errors('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }')).toEqual([]);
    const cyclic = errors('{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }');
    expect(cyclic.some((m) => m.includes('Cannot spread fragment'))).toBe(true);
  });
});

describe('a fragment bomb', () => {
  // 12 levels of 4 spreads: about 1 kB of text, 2 × 4^12 (33 million) fields once expanded.
  const bomb = fragmentBomb(12, 4);

  it('is measured walking each fragment body once', () => {
    expect(bomb.length).toBeLessThan(1_100);
    const measured = measure(bomb);
    expect(measured.fragmentsWalked).toBe(13);
    expect(measured.fields).toBe(1 + 2 * 4 ** 12);
  });

  it('is refused by the field limit, with its expanded count', () => {
    expect(errors(bomb)).toEqual([`the operation selects ${1 + 2 * 4 ** 12} fields; the limit is 6`]);
  });

  it('reuses a fragment spread at several depths without walking it again', () => {
    const measured = measure('{ node { ...F child { ...F child { ...F } } } } fragment F on Node { id child { name } }');
    expect(measured).toEqual({ depth: 5, fields: 3 + 3 * 3, cost: 3 + 3 * 3, fragmentsWalked: 1 });
  });
});

describe('the cost in rows', () => {
  it('multiplies what a connection selects by its first, and aliases count separately', () => {
    // orders: 1 + 10 × (nodes 1 + id 1) = 21, twice.
    expect(measure('{ a: orders(first: 10) { nodes { id } } b: orders(first: 10) { nodes { id } } }').cost).toBe(42);
  });

  it('takes the argument default when first is omitted or 0, and a variable or its default when given', () => {
    const query = 'query($n: Int = 7) { orders(first: $n) { nodes { id } } }';
    expect(measure('{ orders { nodes { id } } }').cost).toBe(1 + 20 * 2);
    expect(measure('{ orders(first: 0) { nodes { id } } }').cost).toBe(1 + 20 * 2);
    expect(measure(query).cost).toBe(1 + 7 * 2);
    expect(measure(query, { n: 300 }).cost).toBe(1 + 300 * 2);
  });

  it('counts a plain list by its limit, or as unsizedListRows rows without one, through edges and fragments', () => {
    expect(measure('{ recent(limit: 3) { id } }').cost).toBe(1 + 3 * 1);
    expect(measure('{ recent { id } }').cost).toBe(1 + 5 * 1);
    const nested = measure('{ orders(first: 2) { edges { node { ...O } } } } fragment O on Order { items { sku quantity } }');
    // orders 1 + 2 × (edges 1 + node 1 + items 1 + unsizedListRows × 2)
    expect(nested.cost).toBe(1 + 2 * (3 + unsizedListRows * 2));
  });

  it('refuses beyond the limit with COST_LIMIT_EXCEEDED, the cost and the limit', () => {
    const aliases = Array.from({ length: 150 }, (_, i) => `o${i}: orders { nodes { id items { sku } } }`).join(' ');
    const document = parse(`query Wide { ${aliases} }`);
    const error = costLimitError(schema, document, getOperationAST(document)!, {}, 10_000);
    const cost = 150 * (1 + 20 * (1 + 1 + 1 + unsizedListRows));
    expect(error?.message).toBe(
      `operation Wide costs ${cost} (rows × fields, each list counted at its first/limit or default page size); the limit is 10000: ask for smaller pages or fewer fields`,
    );
    expect(error?.extensions).toEqual({ code: 'COST_LIMIT_EXCEEDED', cost, maxCost: 10_000 });
    const small = parse('{ orders(first: 5) { nodes { id } } }');
    expect(costLimitError(schema, small, getOperationAST(small)!, {}, 10_000)).toBeUndefined();
  });
});
