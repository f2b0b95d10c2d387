import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logging.js';

/**
 * Prometheus metrics: one registry per process, holding the default process metrics and every
 * Orderflow instrument. Instruments are created once per process by name (`counter`, `histogram`,
 * `gauge`), so modules declare theirs at load time and replicas started in one process share them.
 * `serveMetrics` answers `/metrics` in the text format and `/healthz` from the process's health.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Buckets for handler and request durations, in seconds: 1 ms to 10 s. */
export const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter of this process, created on first use. */
export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** A histogram of this process, created on first use; buckets default to `durationBuckets`. */
export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets: number[] = durationBuckets,
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

/** A gauge of this process, created on first use. */
export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** Reads a value at scrape time; it may fail or time out, then the gauge keeps its last value. */
export type Sampler = () => Promise<void>;

const samplers = new Set<Sampler>();
/** How long a scrape waits for the samplers (e.g. consumer info over a NATS that went away). */
const sampleTimeoutMs = 1_000;

/**
 * Registers work to run before each scrape (consumer lag, outbox backlog); returns its
 * unregistration, which the owner calls when it closes.
 */
export function sampleAtScrape(sampler: Sampler): () => void {
  samplers.add(sampler);
  return () => samplers.delete(sampler);
}

async function sampleAll(logger: Logger): Promise<void> {
  await Promise.all(
    [...samplers].map(async (sample) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          sample(),
          new Promise((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error(`sampler did not answer within ${sampleTimeoutMs} ms`)), sampleTimeoutMs);
          }),
        ]);
      } catch (err) {
        logger.debug({ err }, 'metrics sample failed; the gauge keeps its last value');
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/** The exposition text of every metric of this process, after sampling. */
export async function metricsText(logger: Logger): Promise<string> {
  await sampleAll(logger);
  return registry.metrics();
}

/** What `/healthz` reports: serving or not, and each dependency's state. */
export interface HealthReport {
  serving: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** Options of `serveMetrics`. */
export interface MetricsServerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Bind address; default 127.0.0.1 (metrics are not for the open network by default). */
  host?: string;
  logger: Logger;
  /** Answers `/healthz`; without it `/healthz` says serving whenever the process answers. */
  health?: () => HealthReport;
}

export interface MetricsServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>/metrics` (or the bound host). */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/metrics` (Prometheus text format) and `/healthz` (200 serving, 503 not, JSON body). */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const { logger } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/metrics') {
      metricsText(logger).then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          logger.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    } else if (path === '/healthz') {
      const report = options.health?.() ?? { serving: true, checks: {} };
      res
        .writeHead(report.serving ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: report.serving ? 'SERVING' : 'NOT_SERVING', checks: report.checks }));
    } else {
      res.writeHead(404).end();
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve metrics on ${host}:${options.port}: ${err.message}`)));
    server.listen(options.port, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`;
  logger.info({ url }, 'metrics served');
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
