// One log line per operation the gateway answers over HTTP: its name and type, how long it took,
// and the error codes it answered with. Mutations and failures at info, so a person watching the
// logs sees what changes; plain queries at debug, so busy reads do not flood them.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../services/platform/index.js';

export function requestLog(logger: Logger): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, operationName, errors }) {
          const codes = (errors ?? []).map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          const fields = {
            operation: operationName ?? '(anonymous)',
            type: operation?.operation ?? 'invalid',
            ms: Math.round(performance.now() - started),
            ...(codes.length > 0 ? { errors: codes } : {}),
          };
          if (codes.length > 0 || operation?.operation === 'mutation') logger.info(fields, 'graphql operation');
          else logger.debug(fields, 'graphql operation');
        },
      };
    },
  };
}
