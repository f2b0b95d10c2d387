/**
 * `npm start`: runs Orderflow on one machine. Uses the NATS at NATS_URL, or starts a local
 * nats-server (JetStream store under DATA_DIR/nats) when none answers, with a user per service
 * (nkeys and permissions generated under DATA_DIR/nats-auth), so a client without credentials
 * cannot connect; provisions the streams as the admin user;
 * starts every built service as its own process with embedded storage under DATA_DIR/<service>
 * (or MongoDB when MONGODB_URI is set); prints where each one listens, and a line once the
 * gateway answers. Ctrl-C, SIGTERM, SIGHUP (a closed terminal) or the death of its parent stop it
 * all; each child also stops itself when this process dies without a word (see watch-parent.ts).
 * Unless AUTH_JWKS_URL points at a real issuer, it runs the development token issuer: a key pair
 * under DATA_DIR/auth (made on first start), its JWKS on http://127.0.0.1:4010, and a service
 * token for each service; `npm run token` signs tokens for people with the same key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  authEnv,
  commonEnv,
  ConfigError,
  connectNats,
  deadLetterStream,
  redriveStream,
  ensureStream,
  generateNatsAuth,
  adminUser,
  parseEnv,
  type NatsClientCredentials,
  silentLogger,
  streams,
  type Nats,
} from '../services/platform/index.js';
import { loadOrCreateSigningKey, mintServiceToken, serveJwks, writeIssuerFile, type JwksServer } from '../services/platform/auth/index.js';
import { launchNatsServer, stopProcess } from '../services/platform/testing/nats-server.js';
import { liveScreen, startOrderTicker } from './order-ticker.js';
import { natsGrants } from './nats-grants.js';
import { subgraphUrlVariable, type SubgraphName } from '../gateway/config.js';
import { portsInUse } from './ports.js';
import { availableServices, gatewayProcess, mainOf, portsOf, serviceTable } from './services.js';

const { NATS_URL, NATS_USER, NATS_PASSWORD, NATS_NKEY_SEED, MONGODB_URI, DATA_DIR, LOG_LEVEL, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_DISABLED } = (() => {
  try {
    return parseEnv({ ...commonEnv, ...authEnv });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
})();
const dataDir = resolve(DATA_DIR);
const watchParent = fileURLToPath(new URL('./watch-parent.ts', import.meta.url));
const children = new Map<string, ChildProcess>();
let natsServer: ChildProcess | undefined;
let natsWatchdog: ChildProcess | undefined;
let ticker: Awaited<ReturnType<typeof startOrderTicker>> | undefined;
let control: Nats | undefined;
let jwks: JwksServer | undefined;
/** AUTH_* for every process, and each service's own SERVICE_TOKEN. */
let authEnvFor: (name: string) => Promise<Record<string, string>> = async () => ({});

/** Port of the development issuer's JWKS. */
const devIssuerPort = 4010;

async function startIssuer(): Promise<void> {
  if (AUTH_DISABLED) {
    say('identity  AUTH_DISABLED=true: no token is checked, every caller is an admin');
    authEnvFor = async () => ({ AUTH_DISABLED: 'true' });
    return;
  }
  if (AUTH_JWKS_URL) {
    say(`identity  tokens from ${AUTH_ISSUER ?? '(AUTH_ISSUER unset)'} (JWKS ${AUTH_JWKS_URL})`);
    return; // The processes read the same variables from the environment.
  }
  const authDir = join(dataDir, 'auth');
  const key = await loadOrCreateSigningKey(authDir);
  jwks = await serveJwks(key, { port: devIssuerPort });
  const issuer = { issuer: jwks.issuer, audience: AUTH_AUDIENCE };
  await writeIssuerFile(authDir, issuer);
  const shared = { AUTH_JWKS_URL: jwks.jwksUrl, AUTH_ISSUER: jwks.issuer, AUTH_AUDIENCE };
  authEnvFor = async (name) =>
    name === gatewayProcess.name
      ? shared
      : { ...shared, SERVICE_TOKEN: await mintServiceToken(key, issuer, name, '30d') };
  say(`identity  development issuer ${jwks.issuer} (JWKS ${jwks.jwksUrl}, key ${authDir})`);
  say('          tokens: npm run token -- --admin   |   npm run token -- --customer cus_1');
}
let stopping = false;
/**
 * The NATS variables of each process. With the nats-server started here, each service gets its
 * own user's seed and this script connects as admin; with a NATS already running, every process
 * gets the NATS_USER/NATS_PASSWORD/NATS_NKEY_SEED this script was given.
 */
let natsSeeds: Record<string, string> | undefined;
const natsEnvOf = (name: string): Record<string, string> =>
  natsSeeds ? { NATS_NKEY_SEED: natsSeeds[name]!, NATS_USER: '', NATS_PASSWORD: '' } : {};
const controlCredentials = (): NatsClientCredentials =>
  natsSeeds ? { nkeySeed: natsSeeds[adminUser] } : { user: NATS_USER, password: NATS_PASSWORD, nkeySeed: NATS_NKEY_SEED };

// A closed terminal makes writes fail (EIO, EPIPE); that must not end this process before it
// has stopped its children.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

// On a terminal, log lines scroll above the live orders line; elsewhere everything is a plain line.
const screen = liveScreen((text) => process.stdout.write(text));
const say = (line: string): void => (process.stdout.isTTY ? screen.log(line) : void process.stdout.write(`${line}\n`));

/** The parent's pid and command name from /proc (Linux); undefined where there is none. */
function parentOf(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}

/** The processes whose death means nobody is attending this one: the parent, and npm above its script shell. */
function startersOf(pid: number): number[] {
  const starters = [process.ppid];
  const parent = parentOf(process.ppid);
  if (parent && /^(sh|bash|dash)$/.test(parent.comm) && parent.ppid > 1) starters.push(parent.ppid);
  return starters;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url.split(',')[0]!.trim());
  return new Promise((done) => {
    const socket = tcpConnect({ host: hostname, port: Number(port || 4222), timeout: 1_000 });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
    socket.once('timeout', () => (socket.destroy(), done(false)));
  });
}

/** One readable line per JSON log line: time, service, level, message, the interesting fields. */
function relay(service: string, chunk: Buffer): void {
  for (const raw of chunk.toString().split('\n')) {
    if (!raw.trim()) continue;
    try {
      const { time, level, msg, service: _s, pid: _p, ...fields } = JSON.parse(raw) as Record<string, unknown>;
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(' ');
      const clock = typeof time === 'string' ? time.slice(11, 23) : '';
      say(`${clock} ${service.padEnd(13)} ${String(level).padEnd(5)} ${String(msg)} ${extra}`);
    } catch {
      say(`${service.padEnd(13)} ${raw}`);
    }
  }
}

async function startNats(): Promise<string> {
  if (await reachable(NATS_URL)) {
    say(`NATS      ${NATS_URL} (already running)`);
    return NATS_URL;
  }
  const { hostname, port } = new URL(NATS_URL);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') {
    throw new Error(`NATS at ${NATS_URL} does not answer, and it is not local, so npm start cannot start it`);
  }
  const storeDir = join(dataDir, 'nats');
  await mkdir(storeDir, { recursive: true });
  const auth = await generateNatsAuth(join(dataDir, 'nats-auth'), natsGrants);
  natsSeeds = auth.seeds;
  natsServer = await launchNatsServer(Number(port || 4222), storeDir, { configFile: auth.configFile });
  natsWatchdog = watchOver(natsServer.pid!);
  say(`NATS      ${NATS_URL} (started nats-server, JetStream store ${storeDir}, a user per service: ${auth.configFile})`);
  return NATS_URL;
}

async function provision(url: string): Promise<Nats> {
  const nats = await connectNats({ url, name: 'orderflow-start', logger: silentLogger(), credentials: controlCredentials() });
  for (const spec of [deadLetterStream, redriveStream, ...streams]) await ensureStream(nats.jsm, spec);
  say(`streams   ${[deadLetterStream, redriveStream, ...streams].map((s) => s.name).join(', ')}`);
  return nats;
}

/**
 * nats-server cannot watch its parent, so a small node process does it for it: it sends the
 * server SIGTERM when its channel to this process closes (this process died without stopping it).
 */
function watchOver(pid: number): ChildProcess {
  const code = `process.on('disconnect', () => { try { process.kill(${pid}, 'SIGTERM'); } catch {} process.exit(0); });`;
  const watchdog = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], detached: true });
  watchdog.unref();
  watchdog.channel?.unref();
  return watchdog;
}

/** The live orders line: rewritten in place on a terminal (below the log), a plain line per change otherwise. */
function showOrders(line: string): void {
  if (process.stdout.isTTY) screen.show(line);
  else say(line);
}

async function spawnProcess(name: string, env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', watchParent, mainOf(name)!], {
    env: { ...process.env, ...env, ...(await authEnvFor(name)), LOG_LEVEL },
    // The IPC channel is how the child notices this process is gone (watch-parent.ts).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own process group: Ctrl-C reaches only this script, which then stops each child once
    // (a child that got SIGINT from the terminal and SIGTERM from here would exit without draining).
    detached: true,
  });
  children.set(name, child);
  child.stdout?.on('data', (chunk: Buffer) => relay(name, chunk));
  child.stderr?.on('data', (chunk: Buffer) => relay(name, chunk));
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      // A port taken after the check at start (by a server, or by an outgoing connection's local
      // end) is the commonest reason a service dies at once: say who holds it.
      void portsInUse(portsOf(name))
        .catch(() => [])
        .then((messages) => {
          for (const message of messages) say(message);
          return stop(1);
        });
    }
  });
}

async function startService(name: string, grpcPort: number, graphqlPort: number, metricsPort: number, natsUrl: string): Promise<void> {
  await spawnProcess(name, {
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: '127.0.0.1',
    NATS_URL: natsUrl,
    ...natsEnvOf(name),
    DATA_DIR: dataDir,
    GRPC_PORT: String(grpcPort),
    GRPC_HOST: '127.0.0.1',
    GRAPHQL_PORT: String(graphqlPort),
    GRAPHQL_HOST: '127.0.0.1',
    ...(MONGODB_URI ? { MONGODB_URI } : {}),
    // Where each service finds the others: INVENTORY_GRPC_TARGET=127.0.0.1:50052, ...
    ...Object.fromEntries(serviceTable.map((s) => [`${s.name.toUpperCase()}_GRPC_TARGET`, `127.0.0.1:${s.grpcPort}`])),
  });
  say(
    `${name.padEnd(9)} grpc 127.0.0.1:${grpcPort}   subgraph http://127.0.0.1:${graphqlPort}/graphql   ` +
      `metrics http://127.0.0.1:${metricsPort}/metrics   (grpcurl -plaintext 127.0.0.1:${grpcPort} list)`,
  );
}

async function startGateway(natsUrl: string): Promise<void> {
  const port = gatewayProcess.port;
  await spawnProcess(gatewayProcess.name, {
    NATS_URL: natsUrl,
    ...natsEnvOf(gatewayProcess.name),
    METRICS_PORT: String(gatewayProcess.metricsPort),
    METRICS_HOST: '127.0.0.1',
    GATEWAY_PORT: String(port),
    ...Object.fromEntries(serviceTable.map((s) => [subgraphUrlVariable(s.name as SubgraphName), `http://127.0.0.1:${s.graphqlPort}/graphql`])),
  });
  say(
    `gateway   http://127.0.0.1:${port}/graphql   subscriptions ws://127.0.0.1:${port}/graphql   ` +
      `metrics http://127.0.0.1:${gatewayProcess.metricsPort}/metrics (starting)`,
  );
}

/** Waits until the gateway's /healthz answers 200 (every subgraph composed), or `timeoutMs` passes. */
async function gatewayReady(timeoutMs: number): Promise<boolean> {
  const url = `http://127.0.0.1:${gatewayProcess.port}/healthz`;
  const deadline = Date.now() + timeoutMs;
  while (!stopping && Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  screen.release();
  say('stopping...');
  await ticker?.stop().catch(() => undefined);
  await control?.nc.close().catch(() => undefined);
  await Promise.all([...children.values()].map((child) => stopProcess(child, 'SIGTERM')));
  natsWatchdog?.kill();
  if (natsServer) await stopProcess(natsServer, 'SIGTERM');
  await jwks?.close();
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
// A closed terminal: the children are in their own process groups, so they never see it.
process.on('SIGHUP', () => void stop(0));
// npm (or whatever started this) died without passing a signal on: we are orphaned, so stop.
// npm runs the script through a shell, which outlives a SIGKILLed npm: watch npm too.
const starters = startersOf(process.pid);
setInterval(() => {
  const gone = starters.find((pid) => !alive(pid));
  if (gone !== undefined) {
    say(`the process that started npm start (${gone}) is gone; stopping everything`);
    void stop(1);
  }
}, 1_000).unref();

try {
  const services = availableServices();
  const ports = [...services.flatMap((s) => [s.grpcPort, s.graphqlPort]), gatewayProcess.port, ...(AUTH_DISABLED || AUTH_JWKS_URL ? [] : [devIssuerPort])];
  const taken = await portsInUse(ports);
  if (taken.length > 0) throw new Error(taken.join('\n'));
  const natsUrl = await startNats();
  control = await provision(natsUrl);
  say(`storage   ${MONGODB_URI ? 'MongoDB' : `embedded, under ${dataDir}`}`);
  await startIssuer();
  for (const { name, grpcPort, graphqlPort, metricsPort } of services) await startService(name, grpcPort, graphqlPort, metricsPort, natsUrl);
  await startGateway(natsUrl);
  if (await gatewayReady(120_000)) say(`ready     http://127.0.0.1:${gatewayProcess.port}/graphql answers   Playground: http://127.0.0.1:${gatewayProcess.port}/   Ctrl-C stops everything.`);
  else if (!stopping) say(`the gateway did not answer http://127.0.0.1:${gatewayProcess.port}/healthz within 120 s; see the log above. Ctrl-C stops everything.`);
  if (!stopping && services.some((s) => s.name === 'orders')) ticker = await startOrderTicker(control, showOrders);
} catch (err) {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}
