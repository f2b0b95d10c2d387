import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What the image runs: the production build (tsconfig.build.json) as plain JavaScript, without
// tsx. Compiled here into a temporary folder next to the sources, so node_modules resolves.
// (Starting a service from it passes alone but timed out inside the full parallel run; not yet
// understood, so that check is not here: `node dist/scripts/service.js orders` after
// `npm run build` is the manual check.)
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
let outDir: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(root, '.build-test-'));
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root, timeout: 240_000 });
  await cp(join(root, 'generated/descriptors.binpb'), join(outDir, 'generated/descriptors.binpb'));
}, 300_000);
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('the compiled build', () => {
  it('holds no test files', async () => {
    const files = await listFiles(outDir);
    expect(files.filter((f) => f.endsWith('.js')).length).toBeGreaterThan(50);
    expect(files.filter((f) => /\.test\.js$|test-harness\.js$/.test(f))).toEqual([]);
    // What the image's entry point loads: the service launcher and every service's main.
    for (const main of ['scripts/service.js', 'gateway/main.js', 'services/orders/main.js', 'generated/descriptors.binpb']) {
      expect(files, main).toContain(join(outDir, main));
    }
  });
});
