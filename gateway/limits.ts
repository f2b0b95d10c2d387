// Limits on what one operation may ask for, checked when it is validated (before any subgraph is
// called): how deep its selections nest and how many fields it selects, fragments expanded. The
// gateway applies them to HTTP and WebSocket operations alike.
import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ASTVisitor,
} from 'graphql';

/** The operation limits; see gatewayEnv for the defaults. */
export interface OperationLimits {
  /** Deepest nesting of selections; the root field is depth 1. */
  maxDepth: number;
  /** Most fields one operation may select, counting every alias and fragment expansion. */
  maxFields: number;
}

interface Measure {
  depth: number;
  fields: number;
}

/** Depth and field count of a selection set, fragments expanded; `seen` stops fragment cycles. */
function measure(
  set: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  seen: Set<string>,
): Measure {
  if (!set) return { depth: 0, fields: 0 };
  let depth = 0;
  let fields = 0;
  for (const selection of set.selections) {
    let inner: Measure;
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue; // introspection meta fields are free
      const below = measure(selection.selectionSet, fragments, seen);
      inner = { depth: below.depth + 1, fields: below.fields + 1 };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      inner = measure(selection.selectionSet, fragments, seen);
    } else {
      const name = selection.name.value;
      const fragment = fragments[name];
      if (!fragment || seen.has(name)) continue; // unknown or cyclic: other rules report it
      inner = measure(fragment.selectionSet, fragments, new Set([...seen, name]));
    }
    depth = Math.max(depth, inner.depth);
    fields += inner.fields;
  }
  return { depth, fields };
}

/** A validation rule enforcing `limits` on every operation of a document. */
export function operationLimitsRule(limits: OperationLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const document = context.getDocument();
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    return {
      OperationDefinition(operation) {
        // Introspection (the playground's schema fetch) is deep by nature and cheap: exempt it.
        const introspection = operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'));
        if (introspection) return;
        const { depth, fields } = measure(operation.selectionSet, fragments, new Set());
        const name = operation.name ? `operation ${operation.name.value}` : 'the operation';
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
            new GraphQLError(`${name} selects ${fields} fields; the limit is ${limits.maxFields}`, {
              nodes: [operation],
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', fields, maxFields: limits.maxFields },
            }),
          );
        }
      },
    };
  };
}
