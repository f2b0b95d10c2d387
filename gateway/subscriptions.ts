// The Subscription type the gateway serves over graphql-ws. A change's scalar fields come from the
// status feed; its `order` field is resolved by running a query against the supergraph with the
// subscriber's own selection, so a subscription can select any Order field any subgraph provides.
import type { JetStreamClient } from '@nats-io/jetstream';
import {
  GraphQLError,
  Kind,
  parse,
  visit,
  type DocumentNode,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type VariableDefinitionNode,
} from 'graphql';
import { Header, type CallerContext } from '../services/platform/index.js';
import { orderEventsStream, orderStatusChanges, parseCursor, placementSequence, type OrderStatusChange } from './status-feed.js';

export const subscriptionTypeDefs: DocumentNode = parse(/* GraphQL */ `
  extend schema {
    subscription: Subscription
  }

  type Subscription {
    """
    The status changes of one order, oldest first, ending after CANCELLED or DELIVERED.
    Without after, the order's whole history is replayed first; with the cursor of the last change
    seen, only the changes after it (none, and the subscription completes, when that was the last).
    An after that is not a cursor, or lies past the last change, is refused as BAD_USER_INPUT.
    """
    orderStatusChanged(orderId: ID!, after: String): OrderStatusChange!
    """
    The status changes of a customer's orders: from now on, or after the cursor of the last change seen.
    """
    orderUpdates(customerId: ID!, after: String): OrderStatusChange!
  }

  "An order moved to a new status."
  type OrderStatusChange {
    "Pass as after when resubscribing, to receive only what followed this change."
    cursor: String!
    orderId: ID!
    status: OrderStatus!
    "The order's version after the change; usable as minVersion or readAfter."
    version: Int!
    occurredAt: DateTime!
    "The order as it is when the change is delivered; select any Order field."
    order: Order
  }
`);

const finalStatuses: ReadonlySet<string> = new Set(['CANCELLED', 'DELIVERED']);

/** Runs an operation against the supergraph (the gateway's own Apollo Server). */
export type RunOperation = (request: { query: string; variables: Record<string, unknown> }) => Promise<{
  data?: Record<string, unknown> | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}>;

// A type, not an interface: graphql-ws wants a context assignable to a record.
export type SubscriptionContext = CallerContext & {
  js: JetStreamClient;
  /** Runs an operation against the supergraph as the subscriber. */
  run: RunOperation;
};

function badAfter(after: string, problem: string): GraphQLError {
  return new GraphQLError(`after: ${JSON.stringify(after)} ${problem}`, {
    extensions: { code: 'BAD_USER_INPUT', fieldViolations: [{ field: 'after', path: ['after'], message: problem }] },
  });
}

/** The stream sequence a cursor names; an error naming `after` when it is no cursor of this stream. */
function checkedAfter(after: string | null | undefined, lastSequence: number): number | undefined {
  if (after === undefined || after === null) return undefined;
  const sequence = parseCursor(after);
  if (sequence === undefined) throw badAfter(after, 'is not a cursor this API issued');
  if (sequence > lastSequence) throw badAfter(after, `is past the last change (cursor ${lastSequence})`);
  return sequence;
}

/** A feed with nothing to send: the subscription completes at once. */
const emptyFeed = (): AsyncIterableIterator<never> => {
  const done = async (): Promise<IteratorResult<never, undefined>> => ({ done: true, value: undefined });
  const feed: AsyncIterableIterator<never> = { next: done, return: done, [Symbol.asyncIterator]: () => feed };
  return feed;
};

/**
 * How far before an order's createdAt (the orders service's clock) its OrderPlaced is looked for
 * in the stream (the broker's clock): the clock skew tolerated between the two.
 */
const placementSkewMs = 5 * 60_000;

/** The first error of a supergraph answer, as the subscriber should see it. */
function rethrow(errors: NonNullable<Awaited<ReturnType<RunOperation>>['errors']>): never {
  const first = errors[0]!;
  throw new GraphQLError(first.message, { extensions: first.extensions ?? {} });
}

/**
 * `query($__orderId: ID!, ...) { order(id: $__orderId) { <the subscriber's selection> } }` with the
 * fragments and variables that selection uses, so aliases and fragments come back as asked.
 */
export function orderQueryFor(info: GraphQLResolveInfo): { query: DocumentNode; variables: Record<string, unknown> } {
  const field = info.fieldNodes[0]!;
  const fragments = new Map<string, FragmentDefinitionNode>();
  const variables = new Set<string>();
  const collect = (node: FieldNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = info.fragments[name];
        if (fragment && !fragments.has(name)) {
          fragments.set(name, fragment);
          collect(fragment);
        }
      },
      Variable(variable) {
        variables.add(variable.name.value);
      },
    });
  for (const node of info.fieldNodes) collect(node);
  const definitions: VariableDefinitionNode[] = (info.operation.variableDefinitions ?? []).filter((d) => variables.has(d.variable.name.value));
  const orderId: VariableDefinitionNode = {
    kind: Kind.VARIABLE_DEFINITION,
    variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: '__orderId' } },
    type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
  };
  const query: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: 'query' as never,
        name: { kind: Kind.NAME, value: 'OrderStatusChangeOrder' },
        variableDefinitions: [orderId, ...definitions],
        selectionSet: {
          kind: Kind.SELECTION_SET,
          selections: [
            {
              kind: Kind.FIELD,
              name: { kind: Kind.NAME, value: 'order' },
              arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'id' }, value: { kind: Kind.VARIABLE, name: orderId.variable.name } }],
              ...(field.selectionSet ? { selectionSet: field.selectionSet } : {}),
            },
          ],
        },
      },
      ...fragments.values(),
    ],
  };
  const values: Record<string, unknown> = {};
  for (const d of definitions) values[d.variable.name.value] = info.variableValues[d.variable.name.value];
  return { query, variables: values };
}

/** Starts the feed of a Subscription field: graphql-js `subscribeFieldResolver`. */
export const subscribeField: GraphQLFieldResolver<unknown, SubscriptionContext> = async (_root, rawArgs, ctx, info) => {
  const args = rawArgs as { orderId?: string; customerId?: string; after?: string | null };
  if (info.fieldName !== 'orderUpdates' && info.fieldName !== 'orderStatusChanged') {
    throw new GraphQLError(`unknown subscription ${info.fieldName}`);
  }
  const stream = await ctx.js.streams.get(orderEventsStream);
  const lastSequence = (await stream.info()).state.last_seq;
  const after = checkedAfter(args.after, lastSequence);
  const from = after === undefined ? {} : { fromSequence: after + 1 };
  if (info.fieldName === 'orderUpdates') {
    // The feed reads NATS directly, so the customer scope is applied here: a customer follows only their own orders.
    if (ctx.caller.kind === 'customer' && ctx.caller.customerId !== args.customerId) {
      throw new GraphQLError(`orderUpdates: a customer may follow only their own orders (customerId ${JSON.stringify(ctx.caller.customerId)})`, {
        extensions: { code: 'FORBIDDEN' },
      });
    }
    return orderStatusChanges(ctx.js, { customerId: args.customerId!, ...from });
  }

  const orderId = args.orderId!;
  const answer = await ctx.run({ query: 'query($id: ID!) { order(id: $id) { createdAt status version } }', variables: { id: orderId } });
  if (answer.errors?.length) rethrow(answer.errors);
  const order = answer.data?.order as { createdAt: string; status: string; version: number } | null | undefined;
  if (!order) throw new GraphQLError(`order ${orderId} not found`, { extensions: { code: 'NOT_FOUND' } });
  // A finished order's history ends at its current version: the feed stops there instead of
  // waiting for changes that will never come.
  const finished = finalStatuses.has(order.status) ? { untilVersion: order.version } : {};
  if (after !== undefined && finished.untilVersion !== undefined && after > 0) {
    const seen = await stream.getMessage({ seq: after });
    const seenVersion = Number(seen?.header.get(Header.StreamVersion) ?? 0);
    if (seen?.header.get(Header.CorrelationId) === orderId && seenVersion >= finished.untilVersion) return emptyFeed();
  }
  const fromSequence =
    after !== undefined
      ? after + 1
      : await placementSequence(ctx.js, { orderId, createdAt: new Date(order.createdAt), lastSequence, skewMs: placementSkewMs });
  return orderStatusChanges(ctx.js, { orderId, fromSequence, until: finalStatuses, ...finished });
};

/**
 * Resolves the fields of each change (graphql-js `fieldResolver`): the change itself for the
 * Subscription field, its own fields, `order` through the supergraph, and below `order` the
 * supergraph's answer read by response key.
 */
export function resolveField(print: (doc: DocumentNode) => string): GraphQLFieldResolver<unknown, SubscriptionContext> {
  return async (source, args, ctx, info) => {
    if (info.parentType.name === 'Subscription') return source;
    if (info.parentType.name === 'OrderStatusChange') {
      const change = source as OrderStatusChange;
      if (info.fieldName === 'occurredAt') return change.occurredAt.toISOString();
      if (info.fieldName !== 'order') return change[info.fieldName as keyof OrderStatusChange];
      const { query, variables } = orderQueryFor(info);
      const answer = await ctx.run({ query: print(query), variables: { ...variables, __orderId: change.orderId } });
      if (answer.errors?.length) rethrow(answer.errors);
      return answer.data?.order ?? null;
    }
    return aliasFieldResolver(source, args, ctx, info);
  };
}

/**
 * Below a change's `order`, values are the supergraph's answer, keyed by response key (alias or
 * name); reading by response key makes aliases work at any depth.
 */
export const aliasFieldResolver: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) => {
  if (source === null || typeof source !== 'object') return undefined;
  const record = source as Record<string, unknown>;
  const key = info.path.key;
  return typeof key === 'string' && key in record ? record[key] : record[info.fieldName];
};

/** Formats one error for the client; the same function Apollo Server formats HTTP errors with. */
export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/**
 * The errors of a WebSocket result as the client should see them. Queries and mutations come back
 * from the supergraph already formatted (plain objects, which graphql-ws cannot `toJSON`);
 * subscription errors are GraphQLErrors and are formatted here, hiding internal ones.
 */
export function formatErrors(errors: readonly unknown[], format: FormatError): GraphQLFormattedError[] {
  return errors.map((e) => (e instanceof GraphQLError ? format(e.toJSON(), e) : (e as GraphQLFormattedError)));
}

/** A WebSocket `next` payload with its errors formatted (graphql-ws `onNext`). */
export function formatResult(result: { errors?: readonly unknown[] } & Record<string, unknown>, format: FormatError): FormattedExecutionResult {
  const { errors, ...rest } = result;
  return { ...rest, ...(errors ? { errors: formatErrors(errors, format) } : {}) } as FormattedExecutionResult;
}
