// What every subgraph's resolvers share: batch loading by key, cursor connections and page sizes.
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { viaGrpc } from './errors.js';

/**
 * A per-request DataLoader over a batch RPC: every key asked for in one tick becomes one call,
 * answered in the order asked, null for a key the service does not know. `maxBatchSize` follows
 * the services' batch limit (500).
 */
export function batchLoader<T>(load: (keys: string[]) => Promise<T[]>, keyOf: (item: T) => string): DataLoader<string, T | null> {
  return new DataLoader(
    async (keys: readonly string[]) => {
      const found = new Map((await viaGrpc(load([...keys]))).map((item) => [keyOf(item), item]));
      return keys.map((key) => found.get(key) ?? null);
    },
    { maxBatchSize: 500 },
  );
}

/** A page as a Relay-style connection: each edge's cursor resumes the listing right after it. */
export function connection<T>(items: T[], cursorOf: (item: T) => string, nextPageToken: string) {
  return {
    nodes: items,
    edges: items.map((node) => ({ node, cursor: cursorOf(node) })),
    // Relay: the last edge's cursor on every page that has edges, the last page too.
    pageInfo: { hasNextPage: nextPageToken !== '', endCursor: items.length > 0 ? cursorOf(items.at(-1)!) : null },
  };
}

/**
 * The page size a connection's `first` asks for. `first: Int = 20` still lets a client send an
 * explicit null, which is a mistake of the request: BAD_USER_INPUT naming `first`.
 */
export function pageSize(first: number | null | undefined): number {
  if (typeof first === 'number') return first;
  throw new GraphQLError('first: must be a number of items, not null (leave it out for the default)', {
    extensions: { code: 'BAD_USER_INPUT', fieldViolations: [{ field: 'first', path: ['first'], message: 'must not be null' }] },
  });
}
