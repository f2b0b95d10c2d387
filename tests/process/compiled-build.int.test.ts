import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, waitFor, type TestNatsServer } from '../../services/platform/testing/index.js';

// What the image runs: the production build (tsconfig.build.json) as plain JavaScript, without
// tsx. Compiled here into a temporary folder next to the sources, so node_modules resolves.
const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
let server: TestNatsServer;
let outDir: string;
let dataDir: string;

beforeAll(async () => {
  server = await startNatsServer();
  outDir = await mkdtemp(join(root, '.build-test-'));
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-compiled-'));
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root, timeout: 240_000 });
  await cp(join(root, 'generated/descriptors.binpb'), join(outDir, 'generated/descriptors.binpb'));
}, 300_000);
afterAll(async () => {
  await server?.stop();
  await rm(outDir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
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
  });

  it('starts a service from dist/scripts/service.js with plain node and stops it on SIGTERM', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [join(outDir, 'scripts/service.js'), 'orders'], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', NATS_URL: server.url, DATA_DIR: dataDir, GRPC_PORT: '0', GRAPHQL_PORT: '0', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor('orders to start from the build', () => output.includes('"msg":"orders started"') || child.exitCode !== null, { timeoutMs: 90_000 });
    expect(output).toContain('"msg":"orders started"');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
