// Limits on what one operation may ask for: how deep its selections nest, how many fields it
// selects and what it costs in rows, fragments expanded. Depth and fields are checked when the
// document is validated; the cost depends on page sizes that may come in variables, so it is
// checked once the operation and its variables are known. The gateway applies the same limits to
// HTTP and WebSocket operations (see admission.ts).
//
// Each fragment is measured once per operation and its measure reused at every spread, so the
// work is linear in the document's size: a fragment bomb (fragments spreading the previous one
// several times, levels deep) costs as little to measure as it is long, and its astronomical
// field count refuses it.
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type ArgumentNode,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/** The operation limits; see gatewayEnv for the defaults. */
export interface OperationLimits {
  /** Deepest nesting of selections; the root field is depth 1. */
  maxDepth: number;
  /** Most fields one operation may select, counting every alias and fragment expansion. */
  maxFields: number;
  /** Most rows × fields one operation may ask for; see `measureOperation`. */
  maxCost: number;
}

/** Arguments that size a list: a connection's page (`first`) or a plain list's `limit`. */
const sizeArguments = ['first', 'limit'] as const;
/** Rows assumed for a list with no size argument (an order's items, timeline, notifications). */
export const unsizedListRows = 10;

/** What an operation asks for. */
export interface OperationMeasure {
  /** Deepest nesting; the root field is depth 1. */
  depth: number;
  /** Fields selected, every alias and fragment expansion counted. */
  fields: number;
  /**
   * Every field costs 1 each time it is resolved. A field with a `first` or `limit` argument
   * multiplies the cost of everything selected under it by that size (the argument's default when
   * omitted); a list without one by `unsizedListRows`, except the `nodes`/`edges` of a connection,
   * whose rows its page size already counts. Aliases count separately.
   */
  cost: number;
  /** Fragment bodies walked: each fragment at most once, however often it is spread. */
  fragmentsWalked: number;
}

interface Totals {
  depth: number;
  fields: number;
  cost: number;
}

const nothing: Totals = { depth: 0, fields: 0, cost: 0 };

/**
 * Measures one operation of `document`. Without `schema`, lists cannot be told apart from objects
 * and the cost counts fields only. Page sizes in `variables` are used when given; otherwise the
 * variable's default, then the argument's.
 */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  schema?: GraphQLSchema,
  variables: Record<string, unknown> = {},
): OperationMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const variableDefaults = new Map<string, number>();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue?.kind === Kind.INT) variableDefaults.set(v.variable.name.value, Number(v.defaultValue.value));
  }
  const measured = new Map<string, Totals>();
  const walking = new Set<string>();
  let fragmentsWalked = 0;

  const sizeOf = (node: FieldNode, field: GraphQLField<unknown, unknown>): number | undefined => {
    const definition = field.args.find((a) => (sizeArguments as readonly string[]).includes(a.name));
    if (!definition) return undefined;
    const given = node.arguments?.find((a) => a.name.value === definition.name);
    const value = given ? argumentValue(given) : undefined;
    // 0 or a missing size: the service falls back to its default page.
    if (value !== undefined && value > 0) return value;
    return typeof definition.defaultValue === 'number' ? definition.defaultValue : unsizedListRows;
  };
  const argumentValue = (argument: ArgumentNode): number | undefined => {
    const { value } = argument;
    if (value.kind === Kind.INT) return Number(value.value);
    if (value.kind !== Kind.VARIABLE) return undefined;
    const given = variables[value.name.value];
    return typeof given === 'number' && Number.isFinite(given) ? given : variableDefaults.get(value.name.value);
  };

  const fieldTotals = (node: FieldNode, parent: GraphQLCompositeType | undefined): Totals => {
    const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[node.name.value] : undefined;
    const type = field ? getNamedType(field.type) : undefined;
    const below = selectionTotals(node.selectionSet, type && isCompositeType(type) ? type : undefined);
    let rows = 1;
    if (field) {
      const size = sizeOf(node, field);
      if (size !== undefined) rows = size;
      else if (isListType(getNullableType(field.type)) && !parent!.name.endsWith('Connection')) rows = unsizedListRows;
    }
    return { depth: below.depth + 1, fields: below.fields + 1, cost: 1 + rows * below.cost };
  };

  const fragmentTotals = (name: string): Totals => {
    const known = measured.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment || walking.has(name)) return nothing; // unknown or cyclic: the spec rules report it
    walking.add(name);
    fragmentsWalked += 1;
    const totals = selectionTotals(fragment.selectionSet, typeNamed(fragment.typeCondition.name.value));
    walking.delete(name);
    measured.set(name, totals);
    return totals;
  };

  const typeNamed = (name: string): GraphQLCompositeType | undefined => {
    const type = schema?.getType(name);
    return type && isCompositeType(type) ? type : undefined;
  };

  const selectionTotals = (set: SelectionSetNode | undefined, parent: GraphQLCompositeType | undefined): Totals => {
    if (!set) return nothing;
    let depth = 0;
    let fields = 0;
    let cost = 0;
    for (const selection of set.selections) {
      let inner: Totals;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue; // introspection meta fields are free
        inner = fieldTotals(selection, parent);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = selectionTotals(selection.selectionSet, selection.typeCondition ? typeNamed(selection.typeCondition.name.value) : parent);
      } else {
        inner = fragmentTotals(selection.name.value);
      }
      depth = Math.max(depth, inner.depth);
      fields += inner.fields;
      cost += inner.cost;
    }
    return { depth, fields, cost };
  };

  const root = schema?.getRootType(operation.operation) ?? undefined;
  const totals = selectionTotals(operation.selectionSet, root);
  return { ...totals, fragmentsWalked };
}

/** Introspection (the playground's schema fetch) is deep by nature and cheap: it is exempt. */
function isIntrospection(operation: OperationDefinitionNode): boolean {
  return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
}

const operationLabel = (operation: OperationDefinitionNode) => (operation.name ? `operation ${operation.name.value}` : 'the operation');

/** A validation rule enforcing the depth and field limits on every operation of a document. */
export function operationLimitsRule(limits: Pick<OperationLimits, 'maxDepth' | 'maxFields'>) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      if (isIntrospection(operation)) return;
      const { depth, fields } = measureOperation(context.getDocument(), operation, context.getSchema());
      const name = operationLabel(operation);
      if (depth > limits.maxDepth) {
        context.reportError(
          new GraphQLError(`${name} nests ${depth} levels deep; the limit is ${limits.maxDepth}`, {
            nodes: [operation],
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED', depth, maxDepth: limits.maxDepth },
          }),
        );
      }
      if (fields > limits.maxFields) {
        context.reportError(
          new GraphQLError(`${name} selects ${formatCount(fields)} fields; the limit is ${limits.maxFields}`, {
            nodes: [operation],
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED', fields: finite(fields), maxFields: limits.maxFields },
          }),
        );
      }
    },
  });
}

/**
 * The error refusing `operation` when its cost with these `variables` passes `maxCost`, else
 * undefined. `extensions.code` is COST_LIMIT_EXCEEDED, with the cost and the limit.
 */
export function costLimitError(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  maxCost: number,
): GraphQLError | undefined {
  if (isIntrospection(operation)) return undefined;
  const { cost } = measureOperation(document, operation, schema, variables);
  if (cost <= maxCost) return undefined;
  return new GraphQLError(
    `${operationLabel(operation)} costs ${formatCount(cost)} (rows × fields, each list counted at its first/limit or default page size); the limit is ${maxCost}: ask for smaller pages or fewer fields`,
    { nodes: [operation], extensions: { code: 'COST_LIMIT_EXCEEDED', cost: finite(cost), maxCost } },
  );
}

/** Whole numbers as they are; beyond what a reader can count, in exponent form. */
function formatCount(n: number): string {
  return n < 1e15 ? String(n) : n.toExponential(2);
}

/** JSON has no Infinity: a bomb's count beyond what a double holds is reported as the largest one. */
const finite = (n: number) => (Number.isFinite(n) ? n : Number.MAX_VALUE);
