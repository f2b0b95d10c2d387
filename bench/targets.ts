// What the bench's figures are held against, in one place, and the check of one run against them.
// `issueTargets` come from the performance issue (2 cores, the embedded storage engine, card
// gateway latency 0); `designBudget` is ARCHITECTURE.md's "Performance budget", stricter, what
// the design aims at. A figure the run did not measure in the target's shape (no 50/s among the
// rates, a shortened soak) is reported as not measured, never estimated.
import type { ClosedLoopResult, OpenLoopResult } from './load.js';
import type { SoakResult } from './soak.js';
import type { SustainedResult } from './sustained.js';
import { loadGenerator } from './sustained.js';

/** The performance issue's targets. */
export const issueTargets = {
  /** CPU ms per completed order, every process of the system together. */
  cpuMsPerOrder: 5,
  /** Completed orders/s in the closed-loop sustained phase. */
  sustainedPerSecond: 300,
  /** With this many orders stored, the sustained figure stays within `within` of the fresh store's. */
  afterStored: { orders: 50_000, within: 0.1 },
  /** placeOrder → COMPLETED over gRPC at `rate` orders/s. */
  latency: { rate: 50, p50Ms: 25, p99Ms: 100 },
  /** Over a soak of `seconds` at `rate`, no process's RSS rises more than `within` above its start. */
  memory: { rate: 50, seconds: 600, within: 0.2 },
} as const;

/** ARCHITECTURE.md's performance budget. */
export const designBudget = {
  sustainedPerSecond: 1_000,
  cpuMsPerOrder: 2,
  latency: { rate: 100, p50Ms: 15, p99Ms: 60 },
} as const;

/** One target held against this run's figures. */
export interface TargetCheck {
  name: string;
  source: 'issue' | 'design budget';
  target: string;
  measured: string;
  /** null when the run did not measure the figure in the target's shape. */
  met: boolean | null;
  /** What qualifies the comparison, e.g. fewer orders stored than the target names. */
  note?: string;
}

/** The figures of a run that the targets are checked on. */
export interface RunFigures {
  fixedRate: OpenLoopResult[];
  sustained: SustainedResult;
  preload: ClosedLoopResult & { storedOrders: number };
  sustainedAfterPreload: SustainedResult;
  soak: SoakResult | null;
}

const notMeasured = 'not measured in this run';
const num = (v: number, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

function cpuPerOrder(f: RunFigures, limit: number) {
  const fresh = f.sustained.cpuMsPerOrder.total;
  const after = f.sustainedAfterPreload.cpuMsPerOrder.total;
  if (!finite(fresh) || !finite(after)) return { measured: notMeasured, met: null };
  return {
    measured: `${num(fresh, 2)} ms on the fresh store, ${num(after, 2)} ms with ${num(f.preload.storedOrders)} stored`,
    met: Math.max(fresh, after) <= limit,
  };
}

function sustainedRate(f: RunFigures, floor: number) {
  return { measured: `${num(f.sustained.perSecond, 1)} /s`, met: f.sustained.perSecond >= floor };
}

/** p50 or p99 of the fixed-rate gRPC phase at `rate`; orders that did not complete miss it. */
function latencyAt(f: RunFigures, rate: number, which: 'p50' | 'p99', limit: number): Pick<TargetCheck, 'measured' | 'met' | 'note'> {
  const phase = f.fixedRate.find((p) => p.rate === rate);
  if (!phase) return { measured: `${notMeasured} (no ${rate}/s in --rates)`, met: null };
  const value = phase.latency[which];
  const unfinished = phase.failed + phase.lost + phase.cancelled + phase.unsent;
  const measured = `${num(value, 1)} ms (${phase.completed}/${Math.round(phase.rate * phase.seconds)} orders completed)`;
  if (unfinished > 0) return { measured, met: false, note: `${unfinished} orders did not complete: the latencies cover only those that did` };
  return { measured, met: finite(value) && value <= limit };
}

function afterPreload(f: RunFigures): Pick<TargetCheck, 'measured' | 'met' | 'note'> {
  const { orders, within } = issueTargets.afterStored;
  const fresh = f.sustained.perSecond;
  const after = f.sustainedAfterPreload.perSecond;
  const stored = f.preload.storedOrders;
  const change = fresh > 0 ? `${after >= fresh ? '+' : '-'}${num((Math.abs(after - fresh) / fresh) * 100, 1)} %` : 'the fresh store completed none';
  return {
    measured: `${num(after, 1)} /s with ${num(stored)} stored (${change} against the fresh store's ${num(fresh, 1)} /s)`,
    met: fresh > 0 && after >= fresh * (1 - within),
    ...(stored < orders ? { note: `${num(stored)} orders stored, not ${num(orders)}: not the target's comparison` } : {}),
  };
}

function memory(f: RunFigures): Pick<TargetCheck, 'measured' | 'met'> {
  const { rate, seconds, within } = issueTargets.memory;
  if (!f.soak) return { measured: `${notMeasured} (--soak-seconds 0)`, met: null };
  const system = Object.entries(f.soak.rss).filter(([name]) => name !== loadGenerator);
  if (system.length === 0) return { measured: `${notMeasured} (no process sampled)`, met: null };
  const [name, worst] = system.reduce((a, b) => (b[1].maxGrowthPercent > a[1].maxGrowthPercent ? b : a));
  const seen = `most grown: ${name} ${num(worst.maxGrowthPercent, 1)} % at its peak, ${num(worst.endGrowthPercent, 1)} % at the end`;
  if (f.soak.rate !== rate || f.soak.seconds < seconds) {
    return { measured: `${notMeasured} (soak ${f.soak.seconds} s at ${f.soak.rate}/s); ${seen}`, met: null };
  }
  return { measured: seen, met: system.every(([, c]) => Number.isFinite(c.maxGrowthPercent) && c.maxGrowthPercent <= within * 100) };
}

/** Every target, issue first, checked against the run's own figures. */
export function checkTargets(f: RunFigures): TargetCheck[] {
  const t = issueTargets;
  const b = designBudget;
  const from =
    (source: TargetCheck['source']) =>
    (name: string, target: string, check: Pick<TargetCheck, 'measured' | 'met' | 'note'>): TargetCheck => ({ name, source, target, ...check });
  const issue = from('issue');
  const budget = from('design budget');
  const cpu = 'CPU per completed order, all processes';
  const rate = 'completed orders/s, sustained (closed loop)';
  const p = (which: string, at: number) => `placeOrder → COMPLETED ${which} at ${at}/s, gRPC`;
  return [
    issue(cpu, `≤ ${t.cpuMsPerOrder} ms`, cpuPerOrder(f, t.cpuMsPerOrder)),
    issue(rate, `≥ ${t.sustainedPerSecond} /s`, sustainedRate(f, t.sustainedPerSecond)),
    issue(`… after ${num(t.afterStored.orders)} orders stored`, `within ${t.afterStored.within * 100} % of the fresh store's`, afterPreload(f)),
    issue(p('p50', t.latency.rate), `≤ ${t.latency.p50Ms} ms`, latencyAt(f, t.latency.rate, 'p50', t.latency.p50Ms)),
    issue(p('p99', t.latency.rate), `≤ ${t.latency.p99Ms} ms`, latencyAt(f, t.latency.rate, 'p99', t.latency.p99Ms)),
    issue(`RSS of every process over ${t.memory.seconds / 60} minutes at ${t.memory.rate}/s`, `peak ≤ ${t.memory.within * 100} % above its start`, memory(f)),
    budget(cpu, `≤ ${b.cpuMsPerOrder} ms`, cpuPerOrder(f, b.cpuMsPerOrder)),
    budget(rate, `≥ ${num(b.sustainedPerSecond)} /s`, sustainedRate(f, b.sustainedPerSecond)),
    budget(p('p50', b.latency.rate), `≤ ${b.latency.p50Ms} ms`, latencyAt(f, b.latency.rate, 'p50', b.latency.p50Ms)),
    budget(p('p99', b.latency.rate), `≤ ${b.latency.p99Ms} ms`, latencyAt(f, b.latency.rate, 'p99', b.latency.p99Ms)),
  ];
}
