// Types every subgraph shares: the DateTime scalar and the Money and Address value types. Each
// subgraph includes `sharedTypeDefs` and `sharedResolvers`, so the definitions compose identically.
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import type { Money } from '../../../generated/orderflow/common/v1/common.js';
import { currencyMinorDigits } from '../validation.js';

const parseDate = (value: unknown): Date => {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new GraphQLError(`DateTime must be an ISO 8601 string, got ${JSON.stringify(value)}`);
  return date;
};

/** An ISO 8601 instant (`2026-11-23T10:15:00.000Z`). */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant, as an ISO 8601 string in UTC.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : parseDate(value).toISOString()),
  parseValue: parseDate,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return parseDate(ast.value);
  },
});

/** `1234` minor units of EUR → `"12.34"`. */
export function decimalAmount(money: Money): string {
  const digits = currencyMinorDigits[money.currency] ?? 2;
  const negative = money.amountMinor < 0;
  const text = String(Math.abs(money.amountMinor)).padStart(digits + 1, '0');
  const whole = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative ? `-${whole}` : whole;
}

export const sharedTypeDefs = /* GraphQL */ `
  "An instant, as an ISO 8601 string in UTC."
  scalar DateTime

  "An amount of money: integer minor units (cents) of an ISO 4217 currency."
  type Money @shareable {
    amountMinor: Int!
    currency: String!
    "The amount as a decimal string, e.g. \\"12.34\\"."
    amount: String!
  }

  "A postal address."
  type Address @shareable {
    recipient: String!
    line1: String!
    line2: String!
    city: String!
    region: String!
    postalCode: String!
    country: String!
  }

  "Where a page of a connection ends."
  type PageInfo @shareable {
    hasNextPage: Boolean!
    "Pass as \`after\` to get the next page."
    endCursor: String
  }
`;

/**
 * Resolvers for a GraphQL enum mirroring a ts-proto enum: `ORDER_STATUS_PLACED = 1` becomes the
 * GraphQL value `PLACED` whose internal value is 1, so resolvers pass proto values straight
 * through. The unspecified (0) and unrecognized (-1) values have no GraphQL name.
 */
export function protoEnum(values: Record<string, string | number>, prefix: string): Record<string, number> {
  const named: Record<string, number> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'number' || value <= 0 || !name.startsWith(prefix)) continue;
    named[name.slice(prefix.length)] = value;
  }
  return named;
}

/** The GraphQL value names of a ts-proto enum, for SDL: `enum OrderStatus { ${enumNames(...)} }`. */
export const enumNames = (values: Record<string, string | number>, prefix: string): string =>
  Object.keys(protoEnum(values, prefix)).join('\n    ');

export const sharedResolvers = {
  DateTime: DateTimeScalar,
  Money: { amount: (money: Money) => decimalAmount(money) },
};
