import { describe, expect, it } from 'vitest';
import type { OpenLoopResult } from './load.js';
import type { RssCourse, SoakResult } from './soak.js';
import type { SustainedResult } from './sustained.js';
import { checkTargets, type RunFigures, type TargetCheck } from './targets.js';

const latency = (p50: number, p99: number) => ({ count: 1, p50, p90: p99, p99, max: p99, mean: p50 });
const counts = { placed: 0, completed: 0, cancelled: 0, failed: 0, lost: 0, errors: [] };

function fixedRate(rate: number, p50: number, p99: number, missing = 0): OpenLoopResult {
  const total = rate * 10;
  return { ...counts, rate, seconds: 10, unsent: 0, placed: total, completed: total - missing, lost: missing, latency: latency(p50, p99), placeLatency: latency(1, 2), achievedPerSecond: rate };
}

function sustainedPhase(perSecond: number, cpuMsTotal: number): SustainedResult {
  return {
    ...counts,
    concurrency: 64,
    seconds: 20,
    perSecond,
    timeline: [],
    latency: latency(10, 20),
    measuredSeconds: 21,
    cpuMsPerOrder: { total: cpuMsTotal },
    storePerOrder: {},
    rssMiB: {},
    messages: { before: {}, after: {}, perOrder: 18 },
    messageRate: 0,
  };
}

const rss = (start: number, max: number): RssCourse => ({ start, min: start, max, end: max, endGrowthPercent: ((max - start) / start) * 100, maxGrowthPercent: ((max - start) / start) * 100 });

function soakRun(rate: number, seconds: number, courses: Record<string, RssCourse>): SoakResult {
  return { ...fixedRate(rate, 10, 20), seconds, sampleEverySeconds: 10, sampledAt: [], rssSamples: {}, rss: courses };
}

function figures(overrides: Partial<RunFigures> = {}): RunFigures {
  return {
    fixedRate: [fixedRate(20, 8, 30), fixedRate(50, 12, 60), fixedRate(100, 30, 200)],
    sustained: sustainedPhase(400, 3.5),
    preload: { ...counts, concurrency: 128, seconds: 100, perSecond: 400, timeline: [], latency: latency(1, 2), storedOrders: 60_000 },
    sustainedAfterPreload: sustainedPhase(380, 4),
    soak: soakRun(50, 600, { orders: rss(100, 110), 'nats-server': rss(20, 23) }),
    ...overrides,
  };
}

const find = (checks: TargetCheck[], source: TargetCheck['source'], name: string) => {
  const found = checks.find((c) => c.source === source && c.name.startsWith(name));
  if (!found) throw new Error(`no ${source} target named ${name}: ${checks.map((c) => c.name).join(', ')}`);
  return found;
};

describe('checkTargets', () => {
  it('holds each figure against the issue and the design budget', () => {
    const checks = checkTargets(figures());
    expect(checks.map((c) => [c.source, c.met])).toEqual([
      ['issue', true], // CPU 4 ms worst ≤ 5
      ['issue', true], // 400/s ≥ 300
      ['issue', true], // 380 is within 10 % of 400
      ['issue', true], // p50 12 ≤ 25
      ['issue', true], // p99 60 ≤ 100
      ['issue', true], // nats-server 15 % ≤ 20 %
      ['design budget', false], // CPU 4 > 2
      ['design budget', false], // 400 < 1,000
      ['design budget', false], // p50 30 > 15 at 100/s
      ['design budget', false], // p99 200 > 60 at 100/s
    ]);
    expect(find(checks, 'issue', 'CPU').measured).toBe('3.50 ms on the fresh store, 4.00 ms with 60,000 stored');
    expect(find(checks, 'issue', 'RSS').measured).toBe('most grown: nats-server 15.0 % at its peak, 15.0 % at the end');
  });

  it('misses the CPU target on the worse of the two sustained phases', () => {
    expect(find(checkTargets(figures({ sustainedAfterPreload: sustainedPhase(380, 5.5) })), 'issue', 'CPU').met).toBe(false);
  });

  it('compares the second sustained phase with the first, and says when fewer orders were stored than the target names', () => {
    const checks = checkTargets(figures({ sustainedAfterPreload: sustainedPhase(350, 4), preload: { ...figures().preload, storedOrders: 4_165 } }));
    const after = find(checks, 'issue', '… after');
    expect(after.met).toBe(false);
    expect(after.measured).toBe("350.0 /s with 4,165 stored (-12.5 % against the fresh store's 400.0 /s)");
    expect(after.note).toBe("4,165 orders stored, not 50,000: not the target's comparison");
  });

  it('reports a latency target as not measured when its rate was not run', () => {
    const checks = checkTargets(figures({ fixedRate: [fixedRate(20, 8, 30)] }));
    expect(find(checks, 'issue', 'placeOrder → COMPLETED p50')).toMatchObject({ met: null, measured: 'not measured in this run (no 50/s in --rates)' });
    expect(find(checks, 'design budget', 'placeOrder → COMPLETED p99')).toMatchObject({ met: null, measured: 'not measured in this run (no 100/s in --rates)' });
  });

  it('misses a latency target when orders of the phase did not complete, however fast the rest were', () => {
    const p99 = find(checkTargets(figures({ fixedRate: [fixedRate(50, 12, 60, 3)] })), 'issue', 'placeOrder → COMPLETED p99');
    expect(p99).toMatchObject({ met: false, measured: '60.0 ms (497/500 orders completed)' });
    expect(p99.note).toContain('3 orders did not complete');
  });

  it('judges memory on the peak of every system process, not the load generator', () => {
    const grown = soakRun(50, 600, { orders: rss(100, 110), query: rss(100, 125), 'bench (load generator)': rss(50, 100) });
    expect(find(checkTargets(figures({ soak: grown })), 'issue', 'RSS')).toMatchObject({ met: false, measured: 'most grown: query 25.0 % at its peak, 25.0 % at the end' });
    const benchOnly = soakRun(50, 600, { orders: rss(100, 110), 'bench (load generator)': rss(50, 100) });
    expect(find(checkTargets(figures({ soak: benchOnly })), 'issue', 'RSS').met).toBe(true);
  });

  it('reports memory as not measured after a shortened soak, or none', () => {
    const short = find(checkTargets(figures({ soak: soakRun(5, 20, { orders: rss(100, 101) }) })), 'issue', 'RSS');
    expect(short).toMatchObject({ met: null, measured: 'not measured in this run (soak 20 s at 5/s); most grown: orders 1.0 % at its peak, 1.0 % at the end' });
    expect(find(checkTargets(figures({ soak: null })), 'issue', 'RSS')).toMatchObject({ met: null, measured: 'not measured in this run (--soak-seconds 0)' });
  });
});
