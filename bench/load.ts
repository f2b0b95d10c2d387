// The two ways the bench places orders. Open loop: on a fixed schedule whatever happens, each
// latency measured from the moment the order was due, so queueing (in the system or in the bench
// falling behind) is in the figure. Closed loop: a window of orders in flight, each replaced
// when it ends, so the system sets the pace.
import type { CompletionWatch } from './completions.js';
import { summarize, type LatencySummary } from './stats.js';

/** Places one order and resolves with its id. */
export type Place = (key: string) => Promise<string>;

/** What happened to the orders of one phase. */
export interface PhaseCounts {
  placed: number;
  completed: number;
  cancelled: number;
  /** PlaceOrder failed. */
  failed: number;
  /** Placed (or still being placed) but not ended within the order timeout. */
  lost: number;
  /** The first few failure messages. */
  errors: string[];
}

export interface OpenLoopResult extends PhaseCounts {
  rate: number;
  seconds: number;
  /** Orders never sent: they fell due after the window had closed, the bench having fallen behind. */
  unsent: number;
  /** Due → COMPLETED, in ms. */
  latency: LatencySummary;
  /** Due → PlaceOrder answered, in ms. */
  placeLatency: LatencySummary;
  /** Completed orders/s over the phase, from the first due time to the last completion. */
  achievedPerSecond: number;
}

export interface ClosedLoopResult extends PhaseCounts {
  concurrency: number;
  /** The measured window; orders in flight at its end are finished but not counted in `perSecond`. */
  seconds: number;
  /** Orders COMPLETED within the window, per second. */
  perSecond: number;
  /** Orders COMPLETED in each second of the window. */
  timeline: number[];
  /** Placed → COMPLETED, in ms. */
  latency: LatencySummary;
}

interface Settings {
  place: Place;
  watch: CompletionWatch;
  /** Prefix of every idempotency key of the phase. */
  keyPrefix: string;
  orderTimeoutMs: number;
  progress: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const counts = (): PhaseCounts => ({ placed: 0, completed: 0, cancelled: 0, failed: 0, lost: 0, errors: [] });

/** One order from placing to its end; records its latencies from `startedAt` into `into`. */
async function runOrder(s: Settings, c: PhaseCounts, key: string, startedAt: number, into: { latencies: number[]; place?: number[] }): Promise<number | undefined> {
  let orderId: string;
  try {
    orderId = await s.place(key);
  } catch (err) {
    c.failed++;
    if (c.errors.length < 5) c.errors.push(err instanceof Error ? err.message : String(err));
    return undefined;
  }
  c.placed++;
  into.place?.push(performance.now() - startedAt);
  const outcome = await s.watch.outcome(orderId, s.orderTimeoutMs);
  if (!outcome) {
    c.lost++;
    return undefined;
  }
  if (outcome.status === 'CANCELLED') {
    c.cancelled++;
    return undefined;
  }
  c.completed++;
  into.latencies.push(outcome.at - startedAt);
  return outcome.at;
}

/**
 * Sends `rate` orders a second for `seconds`, then waits at most the order timeout for the ones
 * in flight (those still open then count as lost), so the phase ends however far behind the
 * system falls. Its own memory stays flat however long it runs: the orders in flight are a
 * counter, not a list; what it keeps per order is one latency number.
 */
export async function openLoop(s: Settings & { rate: number; seconds: number; progressEveryMs?: number; status?: () => string }): Promise<OpenLoopResult> {
  const c = counts();
  const latencies: number[] = [];
  const place: number[] = [];
  const total = Math.round(s.rate * s.seconds);
  const start = performance.now() + 50;
  const windowEnd = start + s.seconds * 1_000;
  let inFlight = 0;
  let lastEnd = 0;
  let drained: (() => void) | undefined;
  const launch = (key: string, due: number) => {
    inFlight++;
    void runOrder(s, c, key, due, { latencies, place }).then((at) => {
      if (at !== undefined && at > lastEnd) lastEnd = at;
      if (--inFlight === 0) drained?.();
    });
  };
  let lastReport = performance.now();
  let sent = 0;
  for (; sent < total; sent++) {
    const due = start + (sent * 1_000) / s.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (performance.now() >= windowEnd) break;
    launch(`${s.keyPrefix}-${sent}`, due);
    if (performance.now() - lastReport >= (s.progressEveryMs ?? 2_000)) {
      lastReport = performance.now();
      const status = s.status ? `  ${s.status()}` : '';
      s.progress(`  ${s.rate}/s  t=${((performance.now() - start) / 1_000).toFixed(0)}s  sent ${sent + 1}/${total}  completed ${c.completed}  failed ${c.failed + c.cancelled}${status}`);
    }
  }
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, s.orderTimeoutMs);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  // Orders still open keep running in the background, but this phase's figures are final here.
  const result = { ...c, lost: c.lost + inFlight, errors: [...c.errors] };
  const last = Math.max(windowEnd, lastEnd);
  return {
    rate: s.rate,
    seconds: s.seconds,
    unsent: total - sent,
    ...result,
    latency: summarize(latencies),
    placeLatency: summarize(place),
    achievedPerSecond: Math.round((result.completed * 10_000) / (last - start)) / 10,
  };
}

/**
 * Keeps `concurrency` orders in flight until `seconds` have passed or `orders` have been
 * placed, whichever comes first, then waits for the ones in flight.
 */
export async function closedLoop(s: Settings & { concurrency: number; seconds?: number; orders?: number; label: string }): Promise<ClosedLoopResult> {
  const c = counts();
  const latencies: number[] = [];
  const start = performance.now();
  const end = s.seconds === undefined ? Number.POSITIVE_INFINITY : start + s.seconds * 1_000;
  const limit = s.orders ?? Number.POSITIVE_INFINITY;
  const ends: number[] = [];
  let issued = 0;
  const reporter = setInterval(() => {
    const t = (performance.now() - start) / 1_000;
    const of = s.orders === undefined ? '' : `/${s.orders}`;
    s.progress(`  ${s.label}  t=${t.toFixed(0)}s  completed ${c.completed}${of}  (${(c.completed / t).toFixed(1)}/s)  failed ${c.failed + c.cancelled + c.lost}`);
  }, 2_000);
  const worker = async () => {
    while (performance.now() < end && issued < limit) {
      const key = `${s.keyPrefix}-${issued++}`;
      const at = await runOrder(s, c, key, performance.now(), { latencies });
      if (at !== undefined) ends.push(at);
      else if (c.failed > 0 && c.completed === 0 && c.failed >= s.concurrency) throw new Error(`every order fails: ${c.errors[0]}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: s.concurrency }, worker));
  } finally {
    clearInterval(reporter);
  }
  const windowEnd = Math.min(end, performance.now());
  const seconds = (windowEnd - start) / 1_000;
  const timeline = Array.from({ length: Math.ceil(seconds) }, () => 0);
  let inWindow = 0;
  for (const at of ends) {
    if (at > windowEnd) continue;
    inWindow++;
    const slot = Math.min(timeline.length - 1, Math.floor((at - start) / 1_000));
    if (slot >= 0) timeline[slot]!++;
  }
  return {
    concurrency: s.concurrency,
    seconds: Math.round(seconds * 100) / 100,
    ...c,
    perSecond: Math.round((inWindow * 10) / seconds) / 10,
    timeline,
    latency: summarize(latencies),
  };
}
