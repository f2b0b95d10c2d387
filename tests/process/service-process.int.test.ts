import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, waitFor, type TestNatsServer } from '../../services/platform/testing/index.js';

// `npm run service -- <name>` as a user runs it: a real process, configured from the
// environment, stopped by a signal.
const root = fileURLToPath(new URL('../../', import.meta.url));
let server: TestNatsServer;
let dataDir: string;

beforeAll(async () => {
  server = await startNatsServer();
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-process-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function runService(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/service.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited, stderr: () => stderr };
}

describe('a service process', () => {
  it('starts from the environment, logs JSON, and drains everything on SIGTERM', async () => {
    // NODE_ENV as in production: Apollo installs its own signal handlers unless told not to.
    const proc = runService(['shipping'], { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', NODE_ENV: 'production' });
    await waitFor('the service to start', () => proc.lines.some((l) => l.msg === 'shipping started') || proc.stderr() || false, {
      timeoutMs: 30_000,
    });
    expect(proc.lines.every((l) => l.service === 'shipping')).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const closed = proc.lines.filter((l) => l.msg === 'closed').map((l) => String(l.resource));
    // Reverse order of opening: the GraphQL subgraph, then consumers, storage last.
    expect(closed[0]).toBe('graphql subgraph');
    expect(closed[1]).toMatch(/^consumer /);
    expect(closed).toEqual(expect.arrayContaining(['grpc', 'outbox relay', 'nats', 'storage']));
    // Storage after everything that writes to it; then only the metrics server and the trace
    // exporter, flushed last so shutdown spans go out.
    expect(closed.slice(-3)).toEqual(['storage', 'metrics server', 'traces']);
    // One signal, one orderly shutdown: nothing else (Apollo's own handler) re-raised it.
    expect(proc.lines.filter((l) => l.msg === 'second signal: exiting without waiting')).toEqual([]);
  });

  it('finishes starting, then drains, when stopped while it is still starting', async () => {
    const proc = runService(['shipping'], { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_PORT: '0', GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', NODE_ENV: 'production' });
    await waitFor('the first log line', () => proc.lines.length > 0 || proc.stderr() || false, { timeoutMs: 30_000 });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.lines.map((l) => l.msg)).toContain('shutting down (signalled during start-up)');
    expect(proc.lines.filter((l) => l.msg === 'closed').map((l) => l.resource).slice(-3)).toEqual(['storage', 'metrics server', 'traces']);
  });

  it('runs the gateway too: it listens while its subgraphs are not up, and stops on SIGTERM', async () => {
    const proc = runService(['gateway'], {
      NATS_URL: server.url,
      GATEWAY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      ORDERS_GRAPHQL_URL: 'http://127.0.0.1:9/graphql',
      AUTH_DISABLED: 'true',
      NODE_ENV: 'production',
    });
    await waitFor('the gateway to listen', () => proc.lines.some((l) => l.msg === 'gateway listening') || proc.stderr() || false, {
      timeoutMs: 30_000,
    });
    await waitFor('the gateway to say what it waits for', () =>
      proc.lines.some((l) => l.msg === 'waiting for the subgraphs to compose the supergraph'),
    );
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.lines.map((l) => l.msg)).toContain('gateway stopped');
    expect(proc.lines.filter((l) => l.msg === 'second signal: exiting without waiting')).toEqual([]);

    const bad = runService(['gateway'], { GATEWAY_PORT: 'x', QUERY_GRAPHQL_URL: 'ftp://q' });
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/GATEWAY_PORT/);
    expect(bad.stderr()).toMatch(/QUERY_GRAPHQL_URL/);
  });

  it('names every bad variable and exits 2 before starting', async () => {
    const proc = runService(['shipping'], { NATS_URL: 'http://nope', GRPC_PORT: 'abc', DATA_DIR: dataDir });
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toMatch(/NATS_URL/);
    expect(proc.stderr()).toMatch(/GRPC_PORT/);
  });

  it('refuses an unknown service name, listing the services', async () => {
    const proc = runService(['bogus'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toMatch(/"bogus" is not an Orderflow service/);
    expect(proc.stderr()).toMatch(/inventory, payments, shipping/);
  });
});
