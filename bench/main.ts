/**
 * `npm run bench`: Orderflow in the production shape, measured in one run. Starts its own
 * nats-server and measures the broker's ceiling, starts every service and the gateway as their
 * own processes, then: placeOrder → COMPLETED at fixed rates over gRPC and a GraphQL slice,
 * sustained completed orders/s with CPU and memory per process, a preload of many orders, the
 * sustained phase again, and a soak at a fixed rate that follows every process's memory. Writes
 * bench/reports/<timestamp>/report.{json,md}, the measured figures beside the targets. Flags: --help.
 */
import { cpus, loadavg } from 'node:os';
import { consumersCaughtUp, measureBrokerCeiling, streamCounts, total } from './broker.js';
import { connectBench } from './client.js';
import { watchCompletions } from './completions.js';
import { FlagError, parseFlags, usage, type BenchSettings } from './flags.js';
import { openLoop, closedLoop, type Place } from './load.js';
import { writeReport, type BenchReport } from './report.js';
import { startBroker, type RunningSystem } from './system.js';
import { soak, type SoakResult } from './soak.js';
import { sustained } from './sustained.js';
import { checkTargets } from './targets.js';
import { connectNats, silentLogger, type Nats } from '../services/platform/index.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const clock = () => new Date().toISOString().slice(11, 19);
const phase = (title: string) => say(`\n[${clock()}] ${title}`);

/** What every service process gets besides npm start's variables. */
const benchEnv = { LOG_LEVEL: 'warn', PAYMENT_GATEWAY_LATENCY_MS: '0' };

let settings: BenchSettings;
try {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    say(usage());
    process.exit(0);
  }
  settings = parseFlags(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof FlagError)) throw err;
  process.stderr.write(`${err.message}\n${usage()}\n`);
  process.exit(2);
}

async function run(system: RunningSystem, nats: Nats): Promise<Omit<BenchReport, 'startedAt' | 'finishedAt' | 'targets' | 'settings' | 'environment'>> {
  const s = settings;
  const orderTimeoutMs = s.orderTimeoutSeconds * 1_000;

  phase(`broker ceiling: ${s.ceilingMessages} × ${s.ceilingBytes} B, ${s.ceilingWindow} in flight`);
  const broker = await measureBrokerCeiling(nats, { messages: s.ceilingMessages, window: s.ceilingWindow, bytes: s.ceilingBytes, progress: say });

  phase(`starting the services and the gateway (${system.runtime === 'tsx' ? 'TypeScript through tsx: no compiled build' : 'compiled, dist/'})`);
  await system.startServices(say);
  const client = connectBench(
    { orders: system.ordersTarget, inventory: system.inventoryTarget, gatewayUrl: system.gatewayUrl },
    { admin: await system.issuer.admin(), customer: (id) => system.issuer.customer(id) },
  );
  const watch = watchCompletions(nats.nc);
  try {
    // Enough stock for everything but the sustained phases, which restock before they start.
    const fixedOrders = s.rates.reduce((a, r) => a + r * s.rateSeconds, 0) + s.graphqlRate * s.graphqlSeconds;
    const stock = await client.ensureStock(fixedOrders + s.preload);
    say(`  product ready: ${stock.available} units available`);
    const messagesAtStart = total(await streamCounts(nats));

    const grpc: Place = (key) => client.placeOrder(key);
    const common = { watch, orderTimeoutMs, progress: (line: string) => (system.assertAlive(), say(line)) };
    let stored = 0;

    if (s.warmupSeconds > 0) {
      // Freshly started processes run their code unoptimised: a measured minute right after start
      // cost about twice the CPU per order of the same minute after 50,000 orders, and after one
      // minute of warm-up still 1.5 times (V8 optimises hot code as it runs). So the system works
      // at full speed first, and every consumer catches up, before any figure is taken.
      phase(`warm-up: ${s.concurrency} orders in flight for ${s.warmupSeconds} s over gRPC (not measured)`);
      await client.ensureStock(s.warmupSeconds * s.concurrency * 100);
      const warm = await closedLoop({ ...common, place: grpc, keyPrefix: 'warmup', label: 'warm-up', concurrency: s.concurrency, seconds: s.warmupSeconds });
      // The gateway's path too: its first requests plan the mutation and warm the subgraphs.
      const warmGraphql = await closedLoop({
        ...common,
        place: (key) => client.placeOrderGraphQL(key),
        keyPrefix: 'warmup-graphql',
        label: 'warm-up (GraphQL)',
        concurrency: 4,
        orders: 40,
      });
      stored += warm.placed + warmGraphql.placed;
      say(`  ${warm.completed}/${warm.placed} completed at ${warm.perSecond}/s, ${warmGraphql.completed}/${warmGraphql.placed} through the gateway; waiting for every consumer to catch up`);
      await consumersCaughtUp(nats, orderTimeoutMs, 2_000);
    }

    const fixedRate = [];
    for (const rate of s.rates) {
      phase(`fixed rate over gRPC: ${rate} orders/s for ${s.rateSeconds} s`);
      const result = await openLoop({ ...common, place: grpc, keyPrefix: `rate${rate}`, rate, seconds: s.rateSeconds });
      say(`  ${result.completed}/${result.placed} completed, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`);
      fixedRate.push(result);
      stored += result.placed;
    }

    phase(`fixed rate through the gateway (GraphQL): ${s.graphqlRate} orders/s for ${s.graphqlSeconds} s`);
    const graphql = await openLoop({ ...common, place: (key) => client.placeOrderGraphQL(key), keyPrefix: 'graphql', rate: s.graphqlRate, seconds: s.graphqlSeconds });
    say(`  ${graphql.completed}/${graphql.placed} completed, p50 ${graphql.latency.p50} ms, p99 ${graphql.latency.p99} ms`);
    stored += graphql.placed;

    const sustain = async (label: string, keyPrefix: string) => {
      // A closed loop can outrun any guess: stock for each slot in flight ending 100 orders a second.
      await client.ensureStock(s.sustainSeconds * s.concurrency * 100);
      const result = await sustained({ ...common, nats, processes: system.processes, place: grpc, keyPrefix, label, concurrency: s.concurrency, seconds: s.sustainSeconds });
      say(`  ${result.perSecond} completed orders/s, ${result.cpuMsPerOrder.total} CPU ms per order, ${result.messages.perOrder} broker messages per order`);
      stored += result.placed;
      return result;
    };

    phase(`sustained: ${s.concurrency} orders in flight for ${s.sustainSeconds} s over gRPC`);
    const fresh = await sustain('sustained', 'sustained');

    phase(`preload: ${s.preload} orders, ${s.preloadConcurrency} in flight`);
    await client.ensureStock(s.preload);
    const preloaded = await closedLoop({ ...common, place: grpc, keyPrefix: 'preload', label: 'preload', concurrency: s.preloadConcurrency, orders: s.preload });
    stored += preloaded.placed;
    say(`  ${preloaded.completed}/${preloaded.placed} completed at ${preloaded.perSecond}/s; ${stored} orders stored`);
    const preload = { ...preloaded, storedOrders: stored };

    phase(`sustained again with ${stored} orders stored: ${s.concurrency} in flight for ${s.sustainSeconds} s`);
    const after = await sustain('sustained after preload', 'sustained2');

    let soaked: SoakResult | null = null;
    if (s.soakSeconds > 0) {
      phase(`soak: ${s.soakRate} orders/s for ${s.soakSeconds} s over gRPC, resident memory of every process every 10 s`);
      await client.ensureStock(s.soakRate * s.soakSeconds);
      soaked = await soak({ ...common, processes: system.processes, place: grpc, keyPrefix: 'soak', rate: s.soakRate, seconds: s.soakSeconds });
      const worst = Object.entries(soaked.rss).sort(([, a], [, b]) => b.maxGrowthPercent - a.maxGrowthPercent)[0];
      say(`  ${soaked.completed}/${soaked.placed} completed, p50 ${soaked.latency.p50} ms, p99 ${soaked.latency.p99} ms; most grown: ${worst?.[0]} ${worst?.[1].maxGrowthPercent} % at its peak`);
      stored += soaked.placed;
    } else {
      phase('soak: skipped (--soak-seconds 0)');
    }

    phase('settling: every consumer caught up and no stream grown for 5 s');
    // A system that cannot catch up is itself a finding: the report is written all the same.
    const unsettled = await consumersCaughtUp(nats, orderTimeoutMs, 5_000).then(
      () => undefined,
      (err: unknown) => (say(`  did not settle: ${err instanceof Error ? err.message : String(err)}`), err instanceof Error ? err.message : String(err)),
    );
    const messages = total(await streamCounts(nats)) - messagesAtStart;
    const ratio = (rate: number) => Math.round((rate / broker.publish.perSecond) * 1_000) / 1_000;
    return {
      broker,
      fixedRate,
      graphql,
      sustained: fresh,
      preload,
      sustainedAfterPreload: after,
      soak: soaked,
      run: { orders: stored, messages, messagesPerOrder: Math.round((messages / Math.max(1, stored)) * 10) / 10, ...(unsettled ? { unsettled } : {}) },
      ceilingRatio: { sustained: ratio(fresh.messageRate), afterPreload: ratio(after.messageRate) },
      warnings: Object.fromEntries(system.processes().map((p) => [p.name, { lines: p.warnings, last: p.lastWarnings }])),
    };
  } finally {
    await watch.stop();
    client.close();
  }
}

const startedAt = new Date().toISOString();
const loadAtStart = loadavg()[0]!;
say(`Orderflow bench${settings.quick ? ' (quick mode: a smoke run, figures not comparable)' : ''}; load average ${loadAtStart.toFixed(2)} on ${cpus().length} cores`);
const system = await startBroker({ runtime: settings.runtime, env: benchEnv, keep: settings.keep });
say(`  ${system.natsVersion} on ${system.natsUrl}`);
const nats = await connectNats({ url: system.natsUrl, name: 'bench', logger: silentLogger() });
let stopped = false;
const stopAll = async () => {
  if (stopped) return;
  stopped = true;
  await nats.nc.close().catch(() => undefined);
  await system.stop();
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));

try {
  const results = await run(system, nats);
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    targets: checkTargets(results),
    settings,
    environment: {
      node: process.version,
      natsServer: system.natsVersion,
      runtime: system.runtime,
      storage: 'embedded (DATA_DIR)',
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverage: { start: loadAtStart, end: loadavg()[0]! },
      env: benchEnv,
    },
    ...results,
  };
  const folder = await writeReport(report);
  phase(`report: ${folder}/report.md (and report.json)`);
} catch (err) {
  process.stderr.write(`\nbench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  phase('stopping');
  await stopAll();
}
