// Checks a GraphQL operation's root fields (and, in a subgraph, the entity types `_entities` is
// asked for) against the access table, as an Apollo Server plugin: the gateway and every subgraph
// run it, so a request that goes around the gateway meets the same rules.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError, Kind, valueFromASTUntyped, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { describeCaller, type Caller } from './caller.js';
import { decide, graphqlPolicy, type Decision, type Rule } from './policy.js';

/** The context key under which the gateway and the subgraphs keep the verified caller. */
export interface CallerContext {
  caller: Caller;
  /** The caller's `Authorization` header, forwarded to subgraphs and gRPC. */
  authorization?: string | undefined;
}

const rootTypes = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as const;

/** The GraphQL error for a refusal: UNAUTHENTICATED (HTTP 401) or FORBIDDEN (HTTP 403). */
export function refusal(decision: Exclude<Decision, 'allow'>, what: string, caller: Caller): GraphQLError {
  return decision === 'unauthenticated'
    ? new GraphQLError(`${what} needs a signed-in caller: send Authorization: Bearer <token>`, {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      })
    : new GraphQLError(`${what} is not allowed for ${describeCaller(caller)}`, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
}

/** The `__typename`s of `_entities(representations: …)`, from a variable or a literal. */
function entityTypes(field: FieldNode, variables: Record<string, unknown>): string[] {
  const arg = field.arguments?.find((a) => a.name.value === 'representations');
  const value = arg ? valueFromASTUntyped(arg.value, variables) : [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((r) => String((r as { __typename?: unknown } | null)?.__typename ?? ''));
}

/** The first refusal among the operation's root fields, or undefined when the caller may run it all. */
export function checkOperation(operation: OperationDefinitionNode, variables: Record<string, unknown>, caller: Caller): GraphQLError | undefined {
  const rootType = rootTypes[operation.operation];
  const rules = graphqlPolicy[rootType] as Record<string, Rule>;
  for (const selection of operation.selectionSet.selections) {
    // Fragments at the root are rare; they are refused rather than walked, so nothing slips by.
    if (selection.kind !== Kind.FIELD) return new GraphQLError('fragments at the root of an operation are not supported', { extensions: { code: 'BAD_USER_INPUT' } });
    const name = selection.name.value;
    if (name.startsWith('__') || name === '_service') continue;
    if (name === '_entities') {
      for (const type of entityTypes(selection, variables)) {
        const rule = (graphqlPolicy.Entity as Record<string, Rule>)[type];
        const decision = rule ? decide(rule, caller) : 'forbidden';
        if (decision !== 'allow') return refusal(decision, `_entities of ${type}`, caller);
      }
      continue;
    }
    const rule = rules[name];
    // A field with no rule is refused: a new field must be added to the table to be reachable.
    const decision = rule ? decide(rule, caller) : 'forbidden';
    if (decision !== 'allow') return refusal(decision, `${rootType}.${name}`, caller);
  }
  return undefined;
}

/** Refuses an operation the caller (`contextValue.caller`) may not run, before anything executes. */
export function authorizationPlugin<C extends BaseContext & CallerContext>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request, contextValue }) {
          if (!operation) return;
          const refused = checkOperation(operation, request.variables ?? {}, contextValue.caller);
          if (refused) throw refused;
        },
      };
    },
  };
}
