// `npm start` as a user runs it, and every way it can be stopped without Ctrl-C: a closed
// terminal (SIGHUP to its process group) and npm itself killed with SIGKILL. Either way no
// process it started may survive, and a port that is taken is reported with its holder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { portFree, portHolders } from '../../scripts/ports.js';
import { availableServices, gatewayProcess } from '../../scripts/services.js';
import { startNatsServer, waitFor, type TestNatsServer } from '../../services/platform/testing/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ports = [...availableServices().flatMap((s) => [s.grpcPort, s.graphqlPort]), gatewayProcess.port];
let nats: TestNatsServer;
let dataDir: string;
let running: ChildProcess | undefined;
/** Pids of the services a test's npm start ran: the only processes the clean-up may end. */
const started = new Set<number>();

beforeAll(async () => {
  nats = await startNatsServer();
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-npm-start-'));
});
beforeEach(async () => {
  // npm start's ports are fixed, and 50052-50056 lie in Linux's range for outgoing connections'
  // local ports: a connection of an earlier test may hold one (up to a minute in TIME_WAIT).
  // npm start would rightly refuse to start then; wait for the ports instead.
  await waitFor(
    "npm start's ports to be free",
    async () => {
      const free = await Promise.all(ports.map((port) => portFree(port)));
      const taken = ports.filter((_, i) => !free[i]);
      if (taken.length > 0) throw new Error(`taken: ${taken.join(', ')}`);
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
}, 100_000);
afterEach(async () => {
  // Whatever a failed test of ours left behind, gone before the next test needs the ports.
  for (const pid of [...(running?.pid ? [-running.pid] : []), ...started]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const left = [...started];
  started.clear();
  await waitFor('the processes of the last test to be gone', () => left.every((pid) => !alive(pid)), { timeoutMs: 10_000 });
});
afterAll(async () => {
  await nats?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** `npm start` in its own process group, as a terminal runs it. */
function npmStart() {
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { ...process.env, NATS_URL: nats.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running = child;
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts npm start, waits for its ready line, and returns the pids holding its ports. */
async function startedSystem() {
  const run = npmStart();
  await waitFor('npm start to say it is ready', () => /^ready /m.test(run.output()) || (run.child.exitCode !== null && run.output()) || false, { timeoutMs: 150_000 });
  expect(run.output()).toMatch(/^ready\s+http:\/\/127\.0\.0\.1:4000\/graphql answers/m);
  expect((await fetch(`http://127.0.0.1:${gatewayProcess.port}/healthz`)).status).toBe(200);
  const pids = new Set<number>();
  for (const port of ports) for (const { pid } of await portHolders(port)) pids.add(pid);
  for (const pid of pids) started.add(pid);
  expect(pids.size).toBe(availableServices().length + 1);
  return { run, pids: [...pids] };
}

async function expectAllGone(pids: number[]): Promise<void> {
  await waitFor(
    'every process npm start started to exit',
    () => {
      const living = pids.filter(alive);
      if (living.length > 0) throw new Error(`still alive: ${living.join(', ')}`);
      return true;
    },
    { timeoutMs: 30_000 },
  );
  const held = (await Promise.all(ports.map(async (port) => ((await portHolders(port)).length > 0 ? port : null)))).filter((p) => p !== null);
  expect(held).toEqual([]);
}

describe('npm start', () => {
  it('says when the gateway answers, and a closed terminal (SIGHUP) stops every service', { timeout: 240_000 }, async () => {
    const { run, pids } = await startedSystem();
    process.kill(-run.child.pid!, 'SIGHUP');
    await run.exited;
    await expectAllGone(pids);
  });

  it('stops every service when npm itself is killed with SIGKILL', { timeout: 240_000 }, async () => {
    const { run, pids } = await startedSystem();
    run.child.kill('SIGKILL');
    await expectAllGone(pids);
  });

  it('names the holder of a port taken after its check, when the service that needed it dies', { timeout: 90_000 }, async () => {
    const run = npmStart();
    // Taken between npm start's check and inventory's bind: after the line saying it was started.
    await waitFor('npm start to start inventory', () => /^inventory\s+grpc 127\.0\.0\.1:50052 /m.test(run.output()), { timeoutMs: 60_000, intervalMs: 5 });
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(50052, '127.0.0.1', resolve));
    try {
      expect(await run.exited).not.toBe(0);
      expect(run.output()).toContain('inventory exited (1); stopping everything');
      expect(run.output()).toContain(`port 50052 is in use by pid ${process.pid} (`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('names the process holding a port it needs, and starts nothing', { timeout: 60_000 }, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(50052, '127.0.0.1', resolve));
    try {
      const run = npmStart();
      expect(await run.exited).not.toBe(0);
      expect(run.output()).toContain(`port 50052 is in use by pid ${process.pid} (`);
      expect(run.output()).toContain('is an earlier npm start still running?');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
