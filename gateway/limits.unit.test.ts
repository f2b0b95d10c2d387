import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationLimitsRule } from './limits.js';

const schema = buildSchema(`
  type Query { node: Node }
  type Node { id: ID! child: Node name: String }
`);
const rule = operationLimitsRule({ maxDepth: 4, maxFields: 6 });
const errors = (query: string) => validate(schema, parse(query), [...specifiedRules, rule]).map((e) => e.message);

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
