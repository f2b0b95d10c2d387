import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// graphql ships CommonJS (main) and ESM (module) builds. Node loads the CommonJS one for every
// importer; Vite would give our sources the ESM one while Apollo (run by Node) gets CommonJS, and
// a schema from one cannot be used by the other. Pin our imports to what Node loads.
const resolve = { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] };

export default defineConfig({
  test: {
    // Two unit or int files at a time even on two cores (Vitest's default there is one): most of a
    // file's time is spent waiting on the nats-server, stores and service processes it starts.
    // `npm run test:mongodb` sets VITEST_MAX_WORKERS=1 for the FerretDB it starts (one server, one
    // connection per process: saga steps timed out).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Three tiers, by file suffix: pure unit tests, one-service integration tests against a real
    // nats-server and store, and whole-system end-to-end tests.
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
          // Each file starts a whole system (every service and often the gateway, as OS processes).
          // Two of those starting at once on two cores kept a gateway from composing within its
          // minute in CI; so the e2e files run one at a time, after the unit and int files.
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      // The docker compose stack (npm run test:compose); not part of npm test: it needs a Docker engine.
      { resolve, test: { name: 'compose', include: ['**/*.compose.test.ts'], exclude: ['node_modules/**'], testTimeout: 120_000 } },
    ],
  },
});
