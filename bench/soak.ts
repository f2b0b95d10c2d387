// The soak: the open loop at one fixed rate for minutes, with the resident memory of every process
// read from /proc every few seconds, to show whether any of them grows while the load stays the
// same. It runs last, on a store that already holds every order of the run.
import { openLoop, type OpenLoopResult, type Place } from './load.js';
import { rssMiB } from './proc.js';
import { loadGenerator } from './sustained.js';
import type { CompletionWatch } from './completions.js';

/** One process's resident memory over the soak, in MiB, and its growth in % of the first sample. */
export interface RssCourse {
  start: number;
  min: number;
  max: number;
  end: number;
  /** Last sample against the first. */
  endGrowthPercent: number;
  /** Highest sample against the first. */
  maxGrowthPercent: number;
}

export interface SoakResult extends OpenLoopResult {
  /** Seconds between two RSS samples. */
  sampleEverySeconds: number;
  /** When each sample was taken, in seconds since the soak began. */
  sampledAt: number[];
  /** RSS per process in MiB, one value per `sampledAt`. */
  rssSamples: Record<string, number[]>;
  rss: Record<string, RssCourse>;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function course(samples: number[]): RssCourse {
  const start = samples[0] ?? Number.NaN;
  const end = samples.at(-1) ?? Number.NaN;
  const max = Math.max(...samples);
  const growth = (v: number) => round1(((v - start) / start) * 100);
  return { start: round1(start), min: round1(Math.min(...samples)), max: round1(max), end: round1(end), endGrowthPercent: growth(end), maxGrowthPercent: growth(max) };
}

/** The process whose highest sample so far stands furthest above its first. */
function mostGrown(rssSamples: Record<string, number[]>): { name: string; percent: number } | undefined {
  let worst: { name: string; percent: number } | undefined;
  for (const [name, samples] of Object.entries(rssSamples)) {
    const percent = course(samples).maxGrowthPercent;
    if (Number.isFinite(percent) && (!worst || percent > worst.percent)) worst = { name, percent };
  }
  return worst;
}

export async function soak(options: {
  processes: () => { name: string; pid: number }[];
  place: Place;
  watch: CompletionWatch;
  keyPrefix: string;
  rate: number;
  seconds: number;
  /** Default 10 s. */
  sampleEverySeconds?: number;
  orderTimeoutMs: number;
  progress: (line: string) => void;
}): Promise<SoakResult> {
  const sampleEverySeconds = options.sampleEverySeconds ?? 10;
  const processes = [...options.processes(), { name: loadGenerator, pid: process.pid }];
  const rssSamples: Record<string, number[]> = Object.fromEntries(processes.map((p) => [p.name, []]));
  const sampledAt: number[] = [];
  const startedAt = performance.now();
  const sample = () => {
    sampledAt.push(round1((performance.now() - startedAt) / 1_000));
    for (const p of processes) rssSamples[p.name]!.push(rssMiB(p.pid) ?? Number.NaN);
  };
  sample();
  const sampler = setInterval(sample, sampleEverySeconds * 1_000);
  let loop: OpenLoopResult;
  try {
    loop = await openLoop({
      ...options,
      progressEveryMs: 5_000,
      status: () => {
        if (sampledAt.length < 2) return 'max RSS growth: after the second sample';
        const worst = mostGrown(rssSamples);
        return worst ? `max RSS growth ${worst.percent >= 0 ? '+' : ''}${worst.percent} % (${worst.name})` : '';
      },
    });
  } finally {
    clearInterval(sampler);
  }
  sample();
  const rss = Object.fromEntries(Object.entries(rssSamples).map(([name, samples]) => [name, course(samples)]));
  return { ...loop, sampleEverySeconds, sampledAt, rssSamples: Object.fromEntries(Object.entries(rssSamples).map(([name, s]) => [name, s.map(round1)])), rss };
}
