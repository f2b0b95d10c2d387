import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server with JetStream, started for one test run on a free port and a temporary store. */
export interface TestNatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Kills the server (SIGKILL) and starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Kills the server (SIGKILL), keeping its port and store for `start`. */
  kill(): Promise<void>;
  /** Starts the killed server again on the same port and store; nothing if it runs. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The nats-server binary: NATS_SERVER_BIN, else `nats-server` on PATH (Debian installs /usr/sbin). */
const natsServerBin = process.env.NATS_SERVER_BIN ?? 'nats-server';

/**
 * Ports handed out are drawn at random below Linux's ephemeral range (32768 and up), where a port
 * picked now cannot be taken before it is bound by the source port of some outgoing connection
 * (a process's NATS or gRPC client); each is checked to be free and handed out once per process.
 * Test files run in several Vitest workers at once, each its own process: a port checked free by
 * one could be handed out by another before either binds it, so each worker (VITEST_POOL_ID) draws
 * from its own slice of the range.
 */
const range = { low: 15_000, high: 32_000 };
const slices = 8;
const portRange = (() => {
  const worker = Number.parseInt(process.env.VITEST_POOL_ID ?? '', 10);
  if (!Number.isInteger(worker) || worker < 1) return range;
  const width = Math.floor((range.high - range.low) / slices);
  const low = range.low + ((worker - 1) % slices) * width;
  return { low, high: low + width };
})();
const handedOut = new Set<number>();

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A port on 127.0.0.1 that nothing listens on, for a server a test or the bench starts. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = portRange.low + Math.floor(Math.random() * (portRange.high - portRange.low));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${portRange.low} and ${portRange.high}`);
}

/** Options of `launchNatsServer` and `startNatsServer`. */
export interface NatsServerOptions {
  /** A config file (`-c`), e.g. the users and permissions `generateNatsAuth` writes; the flags for address, port and JetStream win over it. */
  configFile?: string;
  /** Variables added to the server's environment, e.g. the passwords a config reads as `$VAR`. */
  env?: Record<string, string>;
  /** The binary; default NATS_SERVER_BIN, else `nats-server` on PATH. */
  bin?: string;
}

/** Starts nats-server with JetStream on 127.0.0.1:<port>, resolving once it is ready. */
export function launchNatsServer(port: number, storeDir: string, options: NatsServerOptions = {}): Promise<ChildProcess> {
  const config = options.configFile ? ['-c', options.configFile] : [];
  const bin = options.bin ?? natsServerBin;
  const child = spawn(bin, [...config, '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin` },
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server did not become ready on port ${port} within 10s:\n${output}`));
    }, 10_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start nats-server (${bin}): ${err.message}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code} before it was ready:\n${output}`));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stderr?.removeAllListeners('data');
        child.stderr?.resume();
        resolve(child);
      }
    });
  });
}

/** Sends `signal` and waits for the exit; SIGKILL after `killAfterMs` (default 10s). */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals, killAfterMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Starts a disposable nats-server; stop it with `await using` or `stop()` in `afterAll`. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<TestNatsServer> {
  const storeDir = await mkdtemp(join(tmpdir(), 'orderflow-nats-'));
  const port = await freePort();
  let child = await launchNatsServer(port, storeDir, options);
  const stop = async () => {
    await stopProcess(child, 'SIGTERM');
    await rm(storeDir, { recursive: true, force: true });
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async restart() {
      await stopProcess(child, 'SIGKILL');
      child = await launchNatsServer(port, storeDir, options);
    },
    async kill() {
      await stopProcess(child, 'SIGKILL');
    },
    async start() {
      if (child.exitCode === null && child.signalCode === null) return;
      child = await launchNatsServer(port, storeDir, options);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
