// The system as separate processes, started as `npm run service` starts them, so a test can
// kill one with SIGKILL mid-saga and start it again on the same data and port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsServer, waitFor, type TestNatsServer } from '../../../services/platform/testing/index.js';
import { stopProcess } from '../../../services/platform/testing/nats-server.js';
import { fastEnv } from './system.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const processNames = ['inventory', 'payments', 'shipping', 'orders'] as const;
export type ProcessName = (typeof processNames)[number];

/**
 * A free port below Linux's ephemeral range (32768+). A killed service restarts on its port, and
 * a port from the ephemeral range could meanwhile be taken by any outgoing connection.
 */
async function portOutsideEphemeralRange(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface ProcessSystem {
  nats: TestNatsServer;
  dataDir: string;
  ports: Record<ProcessName, number>;
  address(name: ProcessName): string;
  start(name: ProcessName): Promise<void>;
  /** SIGKILL: no drain, no flush, whatever was in flight is cut. */
  kill(name: ProcessName): Promise<void>;
  /** SIGTERM to every service, keeping their data for inspection. */
  stopServices(): Promise<void>;
  close(): Promise<void>;
}

export async function startProcesses(env: Record<string, string> = {}): Promise<ProcessSystem> {
  const nats = await startNatsServer();
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-processes-'));
  const ports = {} as Record<ProcessName, number>;
  for (const name of processNames) ports[name] = await portOutsideEphemeralRange();
  const children = new Map<ProcessName, ChildProcess>();
  const address = (name: ProcessName) => `127.0.0.1:${ports[name]}`;

  const start = async (name: ProcessName) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/main.ts`], {
      cwd: root,
      env: {
        ...process.env,
        ...fastEnv,
        LOG_LEVEL: 'info',
        NATS_URL: nats.url,
        DATA_DIR: dataDir,
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(ports[name]),
        INVENTORY_GRPC_TARGET: address('inventory'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(name, child);
    let output = '';
    let started = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes(`"msg":"${name} started"`)) started = true;
    });
    child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    await waitFor(
      `${name} to start`,
      () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output.slice(-2_000)}`);
        return started;
      },
      { timeoutMs: 30_000 },
    );
  };

  for (const name of processNames) await start(name);
  return {
    nats,
    dataDir,
    ports,
    address,
    start,
    async kill(name) {
      const child = children.get(name);
      if (child) await stopProcess(child, 'SIGKILL');
      children.delete(name);
    },
    async stopServices() {
      for (const [name, child] of children) {
        await stopProcess(child, 'SIGTERM');
        children.delete(name);
      }
    },
    async close() {
      for (const child of children.values()) await stopProcess(child, 'SIGTERM');
      await nats.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
