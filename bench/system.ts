// The system as `npm start` runs it, started for one bench run: its own nats-server on a free
// port with a temporary JetStream store, every service of scripts/services.ts and the gateway as
// separate OS processes with their own temporary data folder. Only the environment, the ports and
// the health endpoints are used: nothing here knows how a service stores its data.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HealthCheckResponse_ServingStatus, HealthService } from '../generated/grpc/health/v1/health.js';
import { subgraphUrlVariable, type SubgraphName } from '../gateway/config.js';
import { grpcClient } from '../services/platform/index.js';
import { startTestIssuer, type TestIssuer } from '../services/platform/testing/issuer.js';
import { freePort, launchNatsServer, stopProcess } from '../services/platform/testing/nats-server.js';
import { WaitAbortedError, waitFor } from '../services/platform/testing/wait.js';
import { gatewayProcess, serviceTable } from '../scripts/services.js';

const root = fileURLToPath(new URL('../', import.meta.url));

/** How the service processes run their code. */
export type Runtime = 'tsx' | 'compiled';

/** One OS process of the system, for /proc sampling and failure messages. */
export interface SystemProcess {
  readonly name: string;
  readonly pid: number;
  /** Lines at warn level or above that the process printed (LOG_LEVEL=warn prints nothing else). */
  readonly warnings: number;
  /** The last few of them. */
  readonly lastWarnings: string[];
  /** The last 20,000 characters it printed. */
  readonly output: string;
  /** Its Prometheus endpoint, for a service or the gateway. */
  readonly metricsUrl?: string;
}

export interface RunningSystem {
  natsUrl: string;
  natsVersion: string;
  runtime: Runtime;
  /** `127.0.0.1:<port>` of the orders and inventory gRPC servers. */
  ordersTarget: string;
  inventoryTarget: string;
  /** `http://127.0.0.1:<port>/graphql` */
  gatewayUrl: string;
  /** The token issuer every process verifies against, as npm start's development issuer is. */
  issuer: TestIssuer;
  /** nats-server, every service and the gateway. */
  processes(): SystemProcess[];
  /** Fails with the process's last output when any process has exited. */
  assertAlive(): void;
  /** Starts the services and the gateway (the broker runs from `startBroker`). */
  startServices(say: (line: string) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Settings of one bench system. */
export interface SystemOptions {
  runtime: 'auto' | 'tsx' | 'compiled';
  /** Variables given to every service and the gateway, after the ones `npm start` gives. */
  env: Record<string, string>;
  /** Keep the temporary folders. */
  keep: boolean;
}

/** `compiled` runs dist/<path>.js, which a `npm run build` must have produced. */
function resolveRuntime(wanted: SystemOptions['runtime']): Runtime {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const built = Boolean(pkg.scripts?.build) && existsSync(join(root, 'dist/services/orders/main.js'));
  if (wanted === 'compiled' && !built) throw new Error('--runtime compiled: no dist/services/orders/main.js (is there an `npm run build`, and did it run?)');
  if (wanted === 'auto') return built ? 'compiled' : 'tsx';
  return wanted;
}

/**
 * Node options for every process the bench starts, from BENCH_NODE_ARGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` for a CPU profile of each (NODE_OPTIONS refuses those).
 */
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

function commandOf(name: string, runtime: Runtime): string[] {
  const main = name === gatewayProcess.name ? 'gateway/main' : `services/${name}/main`;
  return [...nodeArgs, ...(runtime === 'compiled' ? [join(root, 'dist', `${main}.js`)] : ['--import', 'tsx', join(root, `${main}.ts`)])];
}

/**
 * The broker the bench runs: NATS_SERVER_BIN, else the current release `npm run tools` builds into
 * .tools/bin (what production runs; compose pins a current image), else `nats-server` on PATH.
 */
const natsServerBin = process.env.NATS_SERVER_BIN ?? (existsSync(join(root, '.tools', 'bin', 'nats-server')) ? join(root, '.tools', 'bin', 'nats-server') : 'nats-server');

/** `nats-server: v2.15.3`, from the binary the bench runs. */
function natsServerVersion(bin: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bin, ['--version'], { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin` } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', () => resolve(bin));
    child.on('close', () => resolve(out.trim() || bin));
  });
}

interface Child {
  name: string;
  child: ChildProcess;
  output: string;
  warnings: number;
  lastWarnings: string[];
  metricsUrl: string;
}

/** Starts the broker (nats-server, own port, temporary store); the services follow with `startServices`. */
export async function startBroker(options: SystemOptions): Promise<RunningSystem> {
  const runtime = resolveRuntime(options.runtime);
  const natsVersion = await natsServerVersion(natsServerBin);
  const storeDir = await mkdtemp(join(tmpdir(), 'orderflow-bench-nats-'));
  const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-bench-data-'));
  const natsPort = await freePort();
  const nats = await launchNatsServer(natsPort, storeDir, { bin: natsServerBin });
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  // Identity as npm start runs it: every process verifies tokens, each service calls with its own.
  const issuer = await startTestIssuer();
  const children: Child[] = [];
  let stopping = false;

  const ports = new Map<string, { grpc: number; graphql: number; metrics: number }>();
  for (const s of serviceTable) ports.set(s.name, { grpc: await freePort(), graphql: await freePort(), metrics: await freePort() });
  const gatewayPort = await freePort();
  const gatewayMetricsPort = await freePort();
  const grpcTarget = (name: string) => `127.0.0.1:${ports.get(name)!.grpc}`;

  const spawnProcess = (name: string, env: Record<string, string>): Child => {
    const { MONGODB_URI: _ignored, ...inherited } = process.env;
    const child = spawn(process.execPath, commandOf(name, runtime), {
      cwd: root,
      env: { ...inherited, ...env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const entry: Child = { name, child, output: '', warnings: 0, lastWarnings: [], metricsUrl: `http://127.0.0.1:${env.METRICS_PORT}/metrics` };
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      entry.output = (entry.output + text).slice(-20_000);
      const lines = text.split('\n').filter((l) => l.trim());
      entry.warnings += lines.length;
      entry.lastWarnings = [...entry.lastWarnings, ...lines.map((l) => l.slice(0, 500))].slice(-5);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.push(entry);
    return entry;
  };

  const exited = (c: Child) => c.child.exitCode !== null || c.child.signalCode !== null;
  const assertAlive = () => {
    if (nats.exitCode !== null || nats.signalCode !== null) throw new WaitAbortedError('nats-server exited');
    const dead = children.find(exited);
    if (dead && !stopping) throw new WaitAbortedError(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}):\n${dead.output.slice(-3_000)}`);
  };

  const serving = async (name: string) => {
    const health = grpcClient(HealthService, grpcTarget(name), { deadlineMs: 1_000 });
    try {
      await waitFor(
        `${name} to serve gRPC`,
        async () => {
          assertAlive();
          return (await health.check({ service: '' })).status === HealthCheckResponse_ServingStatus.SERVING;
        },
        { timeoutMs: 300_000, intervalMs: 200 },
      );
    } finally {
      health.close();
    }
  };

  return {
    natsUrl,
    natsVersion,
    runtime,
    ordersTarget: grpcTarget('orders'),
    inventoryTarget: grpcTarget('inventory'),
    gatewayUrl: `http://127.0.0.1:${gatewayPort}/graphql`,
    issuer,
    processes: () => [
      { name: 'nats-server', pid: nats.pid!, warnings: 0, lastWarnings: [], output: '' },
      ...children.map((c) => ({ name: c.name, pid: c.child.pid!, warnings: c.warnings, lastWarnings: c.lastWarnings, output: c.output, metricsUrl: c.metricsUrl })),
    ],
    assertAlive,
    async startServices(say) {
      // As scripts/start.ts does: every service at once, each told where the others listen.
      const targets = Object.fromEntries(serviceTable.map((s) => [`${s.name.toUpperCase()}_GRPC_TARGET`, grpcTarget(s.name)]));
      for (const s of serviceTable) {
        const p = ports.get(s.name)!;
        spawnProcess(s.name, {
          NATS_URL: natsUrl,
          DATA_DIR: dataDir,
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: String(p.grpc),
          GRAPHQL_HOST: '127.0.0.1',
          GRAPHQL_PORT: String(p.graphql),
          METRICS_HOST: '127.0.0.1',
          METRICS_PORT: String(p.metrics),
          ...targets,
          ...issuer.env,
          SERVICE_TOKEN: await issuer.token({ subject: s.name, roles: ['service'], expiresIn: '7d' }),
        });
      }
      for (const s of serviceTable) {
        await serving(s.name);
        say(`  ${s.name.padEnd(13)} serving on ${grpcTarget(s.name)}`);
      }
      spawnProcess(gatewayProcess.name, {
        NATS_URL: natsUrl,
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(gatewayPort),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(gatewayMetricsPort),
        ...issuer.env,
        ...Object.fromEntries(serviceTable.map((s) => [subgraphUrlVariable(s.name as SubgraphName), `http://127.0.0.1:${ports.get(s.name)!.graphql}/graphql`])),
      });
      // The gateway answers /healthz once it composed the supergraph from every subgraph.
      await waitFor(
        'the gateway to compose the supergraph',
        async () => {
          assertAlive();
          return (await fetch(`http://127.0.0.1:${gatewayPort}/healthz`)).ok;
        },
        { timeoutMs: 300_000, intervalMs: 250 },
      );
      say(`  gateway       serving on http://127.0.0.1:${gatewayPort}/graphql`);
    },
    async stop() {
      stopping = true;
      await Promise.all([...children].reverse().map((c) => stopProcess(c.child, 'SIGTERM')));
      await stopProcess(nats, 'SIGTERM');
      await issuer.close();
      if (options.keep) {
        process.stdout.write(`kept: NATS store ${storeDir}, data ${dataDir}\n`);
      } else {
        await rm(storeDir, { recursive: true, force: true });
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
