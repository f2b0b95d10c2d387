// The gateway's metrics: requests, errors and durations per GraphQL operation (name and type), and
// the subscriptions open now. Operation names come from clients, so only the first
// `maxOperationNames` distinct names get their own series; later ones share `(other)`.
import type { ApolloServerPlugin } from '@apollo/server';
import { counter, gauge, histogram } from '../services/platform/index.js';

const requests = counter('orderflow_graphql_requests_total', 'GraphQL operations answered, by operation name and type', ['operation', 'type']);
const errors = counter('orderflow_graphql_errors_total', 'GraphQL operations answered with errors, by operation name, type and first error code', ['operation', 'type', 'code']);
const durations = histogram('orderflow_graphql_duration_seconds', 'Time to answer a GraphQL operation, by operation name and type', ['operation', 'type']);
const subscriptionsOpen = gauge('orderflow_graphql_subscriptions_open', 'Subscriptions open now over graphql-ws');

const maxOperationNames = 200;
const seenNames = new Set<string>();

function operationLabel(name: string | null | undefined): string {
  if (!name) return '(anonymous)';
  if (seenNames.has(name)) return name;
  if (seenNames.size >= maxOperationNames || !/^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name)) return '(other)';
  seenNames.add(name);
  return name;
}

/** An Apollo plugin observing every operation answered through Apollo (HTTP and socket queries). */
export function operationMetrics(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, errors: requestErrors, response }) {
          const labels = { operation: operationLabel(operationName), type: operation?.operation ?? 'invalid' };
          requests.inc(labels);
          durations.observe(labels, (performance.now() - started) / 1000);
          const answered = requestErrors ?? (response.body.kind === 'single' ? response.body.singleResult.errors : undefined);
          if (answered && answered.length > 0) {
            errors.inc({ ...labels, code: String(answered[0]?.extensions?.code ?? 'INTERNAL_SERVER_ERROR') });
          }
        },
      };
    },
  };
}

/**
 * The subscription's event stream, counted in `orderflow_graphql_subscriptions_open` from now
 * until it ends, fails or the subscriber leaves (its `return`).
 */
export function countedSubscription<T>(source: AsyncIterableIterator<T> | AsyncGenerator<T>): AsyncGenerator<T> {
  subscriptionsOpen.inc();
  let open = true;
  const end = () => {
    if (open) subscriptionsOpen.dec();
    open = false;
  };
  const iterator: AsyncGenerator<T> = {
    async next() {
      try {
        const result = await source.next();
        if (result.done) end();
        return result;
      } catch (err) {
        end();
        throw err;
      }
    },
    async return(value?: unknown) {
      end();
      return (await source.return?.(value as never)) ?? { done: true, value: undefined as never };
    },
    async throw(err?: unknown) {
      end();
      if (source.throw) return source.throw(err);
      throw err;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async [Symbol.asyncDispose]() {
      await iterator.return(undefined);
    },
  };
  return iterator;
}
