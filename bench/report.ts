// The bench's output: report.json (everything measured, for tools) and report.md with its SVG
// charts (for people), in bench/reports/<timestamp>/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerCeiling } from './broker.js';
import type { BenchSettings } from './flags.js';
import type { ClosedLoopResult, OpenLoopResult } from './load.js';
import type { SoakResult } from './soak.js';
import type { SustainedResult } from './sustained.js';
import { barChart, lineChart } from './svg.js';
import type { TargetCheck } from './targets.js';

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  /** The issue's targets and ARCHITECTURE.md's budget, each against this run's figure (bench/targets.ts). */
  targets: TargetCheck[];
  settings: BenchSettings;
  environment: {
    node: string;
    natsServer: string;
    runtime: 'tsx' | 'compiled';
    storage: string;
    cpus: number;
    cpuModel: string;
    /** 1-minute load average when the bench started and when it ended: other work on the machine. */
    loadAverage: { start: number; end: number };
    env: Record<string, string>;
  };
  broker: BrokerCeiling;
  fixedRate: OpenLoopResult[];
  graphql: OpenLoopResult;
  sustained: SustainedResult;
  preload: ClosedLoopResult & { storedOrders: number };
  sustainedAfterPreload: SustainedResult;
  /** The memory soak, last; null when `--soak-seconds 0` skipped it. */
  soak: SoakResult | null;
  /** Every order the run placed and every broker message stored after the product was stocked, once the system settled. */
  /** `unsettled`: why the system had not caught up when the run ended (the counts are then partial). */
  run: { orders: number; messages: number; messagesPerOrder: number; unsettled?: string };
  /** Messages/s of each sustained phase over the broker's publish ceiling. */
  ceilingRatio: { sustained: number; afterPreload: number };
  /** Lines each process printed at warn level or above, and the last few of them. */
  warnings: Record<string, { lines: number; last: string[] }>;
}

const n = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

function counts(r: { placed: number; completed: number; cancelled: number; failed: number; lost: number }): string {
  return `${r.completed}/${r.placed}${r.cancelled + r.failed + r.lost > 0 ? ` (cancelled ${r.cancelled}, failed ${r.failed}, lost ${r.lost})` : ''}`;
}

const signed = (percent: number) => `${percent > 0 ? '+' : ''}${n(percent)} %`;

function soakSection(soak: SoakResult | null): string[] {
  const lines = ['## Memory over a soak', ''];
  if (!soak) return [...lines, 'Not run: `--soak-seconds 0`.'];
  lines.push(
    `Open loop over gRPC at ${soak.rate} orders/s for ${soak.seconds} s, last, on the store every earlier phase filled; resident memory of every process ` +
      `from /proc every ${soak.sampleEverySeconds} s (${soak.sampledAt.length} samples), growth against the first sample. ` +
      `${counts(soak)} orders completed${soak.unsent ? `, ${soak.unsent} never sent (the bench fell behind)` : ''}; ` +
      `latency p50 ${n(soak.latency.p50)} ms, p99 ${n(soak.latency.p99)} ms, ${n(soak.achievedPerSecond)} completed/s.`,
    '',
    '| process | RSS MiB at start | min | max | at end | end vs start | max vs start |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const [name, c] of Object.entries(soak.rss)) {
    lines.push(`| ${name} | ${n(c.start)} | ${n(c.min)} | ${n(c.max)} | ${n(c.end)} | ${signed(c.endGrowthPercent)} | ${signed(c.maxGrowthPercent)} |`);
  }
  return [...lines, '', '![memory](memory.svg)'];
}

function targetsSection(r: BenchReport): string[] {
  const lines = ['## Targets', ''];
  lines.push(
    `The performance issue's targets (2 cores, the embedded storage engine, card gateway latency 0; this machine has ${r.environment.cpus} cores) and, below them, ` +
      "ARCHITECTURE.md's stricter design budget, each against this run's own figure. A figure this run did not take in the target's shape reads \"not measured in this run\".",
  );
  const result = (t: TargetCheck) => (t.met === null ? '–' : t.met ? 'met' : '**missed**') + (t.note ? ` (${t.note})` : '');
  for (const source of ['issue', 'design budget'] as const) {
    lines.push('', `| ${source === 'issue' ? 'issue target' : 'design budget (ARCHITECTURE.md)'} | threshold | measured | result |`, '|---|---|---|---|');
    for (const t of r.targets.filter((x) => x.source === source)) lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${result(t)} |`);
  }
  return lines;
}

function markdown(r: BenchReport): string {
  const s = r.settings;
  const lines: string[] = [];
  const row = (...cells: (string | number)[]) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push(`# Orderflow bench, ${r.startedAt}`, '');
  if (s.quick) lines.push('**Quick mode: small numbers, a smoke run; do not compare these figures.**', '');
  lines.push(
    `Production shape: nats-server and every service and the gateway as separate processes, ${r.environment.runtime === 'tsx' ? '**TypeScript loaded with tsx** (no compiled build exists)' : 'compiled JavaScript from dist/'}, ` +
      `${r.environment.storage} storage, ${r.environment.env.LOG_LEVEL} logs, card gateway latency ${r.environment.env.PAYMENT_GATEWAY_LATENCY_MS} ms.`,
    '',
    `Machine: ${r.environment.cpus} × ${r.environment.cpuModel}; load average ${n(r.environment.loadAverage.start, 2)} at start, ${n(r.environment.loadAverage.end, 2)} at end ` +
      `(a load above the core count means other work competed with the bench). Node ${r.environment.node}, ${r.environment.natsServer}.`,
    '',
  );

  lines.push(...targetsSection(r), '');

  lines.push('## Broker ceiling', '');
  lines.push(`JetStream on this machine, before the system's load: ${r.broker.messageBytes}-byte binary messages, file storage, ${r.broker.window} publishes in flight.`, '');
  row('measure', 'messages', 'seconds', 'msg/s');
  row('---', '---:', '---:', '---:');
  row('persisted publish (msgID, acks awaited per window)', r.broker.publish.messages, n(r.broker.publish.seconds, 2), r.broker.publish.perSecond);
  row('pull consumer, explicit ack', r.broker.consumeAck.messages, n(r.broker.consumeAck.seconds, 2), r.broker.consumeAck.perSecond);
  lines.push('');

  lines.push('## placeOrder → COMPLETED at fixed rates', '');
  lines.push('Open loop: orders leave on schedule whatever the system does; latency runs from the moment an order was due to OrderCompleted on the broker.', '');
  row('API', 'rate/s', 'seconds', 'completed/placed', 'achieved/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'placeOrder answered p50 / p99 ms');
  row('---', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:');
  for (const f of [...r.fixedRate.map((x) => ['gRPC', x] as const), ['GraphQL', r.graphql] as const]) {
    const [api, x] = f;
    row(api, x.rate, x.seconds, counts(x), n(x.achievedPerSecond), n(x.latency.p50), n(x.latency.p90), n(x.latency.p99), n(x.latency.max), `${n(x.placeLatency.p50)} / ${n(x.placeLatency.p99)}`);
  }
  lines.push('', '![latency](latency.svg)', '');

  lines.push('## Sustained throughput', '');
  lines.push(
    `Closed loop, ${s.concurrency} orders in flight for ${s.sustainSeconds} s; then ${r.preload.completed} more orders are placed (${r.preload.concurrency} in flight, ` +
      `${n(r.preload.perSecond)} completed/s, ${r.preload.storedOrders} orders stored in all) and the same phase runs again. CPU and memory come from /proc, ` +
      'sampled when every consumer had caught up before and after the phase, divided by the orders it completed; ' +
      'store writes and commits come the same way from each service\'s `orderflow_storage_writes_total` and `orderflow_storage_commits_total` (writes issued together share one commit).',
    '',
  );
  const phases = [
    ['fresh store', r.sustained],
    [`after ${r.preload.storedOrders} orders`, r.sustainedAfterPreload],
  ] as const;
  row('', ...phases.map(([name]) => name));
  row('---', ...phases.map(() => '---:'));
  row('completed orders/s', ...phases.map(([, p]) => n(p.perSecond)));
  row('completed/placed', ...phases.map(([, p]) => counts(p)));
  row('latency p50 / p99 ms', ...phases.map(([, p]) => `${n(p.latency.p50)} / ${n(p.latency.p99)}`));
  row('broker messages per order', ...phases.map(([, p]) => n(p.messages.perOrder)));
  row('broker messages/s', ...phases.map(([, p]) => p.messageRate));
  row('… of the publish ceiling', `${n(r.ceilingRatio.sustained * 100)} %`, `${n(r.ceilingRatio.afterPreload * 100)} %`);
  row('**CPU ms per order, system**', ...phases.map(([, p]) => `**${n(p.cpuMsPerOrder.total ?? Number.NaN, 2)}**`));
  for (const name of Object.keys(r.sustained.cpuMsPerOrder).filter((k) => k !== 'total')) {
    row(`CPU ms per order, ${name}`, ...phases.map(([, p]) => n(p.cpuMsPerOrder[name] ?? Number.NaN, 2)));
  }
  for (const name of Object.keys(r.sustained.storePerOrder)) {
    row(`store writes / commits per order, ${name}`, ...phases.map(([, p]) => `${n(p.storePerOrder[name]?.writes ?? Number.NaN)} / ${n(p.storePerOrder[name]?.commits ?? Number.NaN)}`));
  }
  for (const name of Object.keys(r.sustained.rssMiB)) {
    row(`RSS MiB, ${name}`, ...phases.map(([, p]) => `${n(p.rssMiB[name]?.before ?? Number.NaN, 0)} → ${n(p.rssMiB[name]?.after ?? Number.NaN, 0)}`));
  }
  lines.push('', '![throughput](throughput.svg)', '');

  lines.push(...soakSection(r.soak), '');

  lines.push('## Messages per stream', '');
  if (r.run.unsettled) lines.push(`**The system had not caught up when the run ended**, so the run's counts below are partial: ${r.run.unsettled}`, '');
  lines.push(
    `Over the whole run, once settled: ${r.run.messages} broker messages for ${r.run.orders} orders placed = **${n(r.run.messagesPerOrder)} per order**. ` +
      'The per-phase figures above can differ when a service is still publishing work of an earlier phase.',
    '',
  );
  row('stream', 'fresh: before → after', 'after preload: before → after');
  row('---', '---:', '---:');
  for (const name of Object.keys(r.sustainedAfterPreload.messages.after).sort()) {
    const a = r.sustained.messages;
    const b = r.sustainedAfterPreload.messages;
    row(name, `${a.before[name] ?? 0} → ${a.after[name] ?? 0}`, `${b.before[name] ?? 0} → ${b.after[name] ?? 0}`);
  }
  lines.push('');
  const warned = Object.entries(r.warnings).filter(([, w]) => w.lines > 0);
  lines.push('## Warnings', '');
  if (warned.length === 0) lines.push('No process printed a warning.', '');
  for (const [name, w] of warned) lines.push(`- ${name}: ${w.lines} lines at warn or above; the last:`, '', '```', ...w.last, '```', '');
  const errors = [...r.fixedRate, r.graphql, r.sustained, r.preload, r.sustainedAfterPreload, ...(r.soak ? [r.soak] : [])].flatMap((p) => p.errors);
  if (errors.length) lines.push('First failures:', '', ...[...new Set(errors)].slice(0, 5).map((e) => `- ${e}`), '');
  lines.push('## Settings', '', '```json', JSON.stringify(r.settings, null, 2), '```', '');
  return lines.join('\n');
}

/** Writes report.json, report.md, latency.svg, throughput.svg and (after a soak) memory.svg; returns the folder. */
export async function writeReport(r: BenchReport): Promise<string> {
  const folder = join(r.settings.out, r.startedAt.replace(/[:.]/g, '-'));
  await mkdir(folder, { recursive: true });
  const fixed = [...r.fixedRate.map((x) => `gRPC ${x.rate}/s`), `GraphQL ${r.graphql.rate}/s`];
  const all = [...r.fixedRate, r.graphql];
  await writeFile(
    join(folder, 'latency.svg'),
    barChart({
      title: 'placeOrder → COMPLETED at fixed rates',
      yLabel: 'milliseconds',
      categories: fixed,
      series: [
        { name: 'p50', values: all.map((x) => x.latency.p50) },
        { name: 'p99', values: all.map((x) => x.latency.p99) },
      ],
    }),
  );
  await writeFile(
    join(folder, 'throughput.svg'),
    lineChart({
      title: 'Completed orders per second, closed loop',
      yLabel: 'orders completed in the second',
      xLabel: 'second of the phase',
      series: [
        { name: 'fresh store', values: r.sustained.timeline },
        { name: `after ${r.preload.storedOrders} orders`, values: r.sustainedAfterPreload.timeline },
      ],
    }),
  );
  if (r.soak) {
    const soak = r.soak;
    await writeFile(
      join(folder, 'memory.svg'),
      lineChart({
        title: `Resident memory per process, soak at ${soak.rate} orders/s`,
        yLabel: 'MiB',
        xLabel: 'seconds into the soak',
        xTicks: soak.sampledAt.map((t) => t.toFixed(0)),
        series: Object.entries(soak.rssSamples).map(([name, values]) => ({ name, values })),
      }),
    );
  }
  await writeFile(join(folder, 'report.json'), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(join(folder, 'report.md'), markdown(r));
  return folder;
}
