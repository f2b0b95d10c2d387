import { defineConfig } from 'vitest/config';

// graphql ships CommonJS (main) and ESM (module) builds. Node loads the CommonJS one for every
// importer; Vite would give our sources the ESM one while Apollo (run by Node) gets CommonJS, and
// a schema from one cannot be used by the other. Pin our imports to what Node loads.
const resolve = { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] };

// Three tiers, by file suffix: pure unit tests, one-service integration tests against a real
// nats-server and store, and whole-system end-to-end tests.
export default defineConfig({
  test: {
    projects: [
      { resolve, test: { name: 'unit', include: ['**/*.unit.test.ts'], exclude: ['node_modules/**'] } },
      {
        resolve,
        test: {
          name: 'int',
          include: ['**/*.int.test.ts'],
          exclude: ['node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ['node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // The docker compose stack (npm run test:compose); not part of npm test: it needs a Docker engine.
      { resolve, test: { name: 'compose', include: ['**/*.compose.test.ts'], exclude: ['node_modules/**'], testTimeout: 120_000 } },
    ],
  },
});
