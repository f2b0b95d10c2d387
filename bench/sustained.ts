// A sustained phase: the closed loop, with what it cost each process. CPU and memory are read
// from /proc once every consumer has caught up before the phase and again once they have caught
// up after it, so CPU per order includes the work that trails the last order (notifications,
// projections) and the orders still in flight when the window closed.
import { consumersCaughtUp, streamCounts, total } from './broker.js';
import { closedLoop, type ClosedLoopResult, type Place } from './load.js';
import { sampleUsage } from './proc.js';
import { sampleStoreCounts, storeCountsPerOrder, type StoreCounts } from './store-writes.js';
import type { CompletionWatch } from './completions.js';
import type { Nats } from '../services/platform/index.js';

/** The bench's own process, sampled like the others but left out of the system's total. */
export const loadGenerator = 'bench (load generator)';

export interface SustainedResult extends ClosedLoopResult {
  /** Wall time from the first /proc sample to the second. */
  measuredSeconds: number;
  /** CPU milliseconds per COMPLETED order, per process, and the system's sum (without the load generator) as `total`. */
  cpuMsPerOrder: Record<string, number>;
  /** Embedded-store writes and the transactions they were committed in, per COMPLETED order, per process that wrote. */
  storePerOrder: Record<string, StoreCounts>;
  /** Resident memory per process, MiB, before and after. */
  rssMiB: Record<string, { before: number; after: number }>;
  messages: { before: Record<string, number>; after: Record<string, number>; perOrder: number };
  /** Broker messages per second at the sustained rate: perSecond × messages per order. */
  messageRate: number;
}

export async function sustained(options: {
  nats: Nats;
  processes: () => { name: string; pid: number; metricsUrl?: string | undefined }[];
  place: Place;
  watch: CompletionWatch;
  keyPrefix: string;
  label: string;
  concurrency: number;
  seconds: number;
  orderTimeoutMs: number;
  progress: (line: string) => void;
}): Promise<SustainedResult> {
  const { nats } = options;
  await consumersCaughtUp(nats, options.orderTimeoutMs);
  const messagesBefore = await streamCounts(nats);
  const startedAt = performance.now();
  const processes = () => [...options.processes(), { name: loadGenerator, pid: process.pid }];
  const before = sampleUsage(processes());
  const storeBefore = await sampleStoreCounts(processes());
  const loop = await closedLoop(options);
  options.progress(`  ${options.label}: window over, waiting for every consumer to catch up`);
  await consumersCaughtUp(nats, options.orderTimeoutMs);
  const after = sampleUsage(processes());
  const storeAfter = await sampleStoreCounts(processes());
  const measuredSeconds = (performance.now() - startedAt) / 1_000;
  const messagesAfter = await streamCounts(nats);

  const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
  const cpuMsPerOrder: Record<string, number> = {};
  let sum = 0;
  for (const name of Object.keys(before)) {
    const spent = after[name]!.cpuMs - before[name]!.cpuMs;
    if (name !== loadGenerator) sum += spent;
    cpuMsPerOrder[name] = round(spent / Math.max(1, loop.completed));
  }
  cpuMsPerOrder.total = round(sum / Math.max(1, loop.completed));
  const rssMiB = Object.fromEntries(Object.keys(before).map((name) => [name, { before: round(before[name]!.rssMiB, 1), after: round(after[name]!.rssMiB, 1) }]));
  const perOrder = round((total(messagesAfter) - total(messagesBefore)) / Math.max(1, loop.completed), 1);
  return {
    ...loop,
    measuredSeconds: round(measuredSeconds),
    cpuMsPerOrder,
    storePerOrder: storeCountsPerOrder(storeBefore, storeAfter, loop.completed),
    rssMiB,
    messages: { before: messagesBefore, after: messagesAfter, perOrder },
    messageRate: Math.round(loop.perSecond * perOrder),
  };
}
