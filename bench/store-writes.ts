// What the embedded engine of each process wrote: the counters every service exports on its
// Prometheus endpoint, `orderflow_storage_writes_total` (insert, update, replace and delete
// calls) and `orderflow_storage_commits_total` (the transactions those writes were grouped in).
// Read before and after a phase, they give writes and commits per completed order: the storage
// work behind the CPU figures.

export interface StoreCounts {
  writes: number;
  commits: number;
}

const writesMetric = 'orderflow_storage_writes_total';
const commitsMetric = 'orderflow_storage_commits_total';

/** The value of a counter in Prometheus text, summed over its label sets; 0 when it is absent. */
export function counterValue(text: string, metric: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const next = line.charAt(metric.length);
    if (next !== ' ' && next !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** The counts of every process that has a metrics endpoint; a process that does not answer is left out. */
export async function sampleStoreCounts(processes: { name: string; metricsUrl?: string | undefined }[]): Promise<Record<string, StoreCounts>> {
  const sampled = await Promise.all(
    processes.map(async (p): Promise<[string, StoreCounts] | undefined> => {
      if (p.metricsUrl === undefined) return undefined;
      try {
        const response = await fetch(p.metricsUrl, { signal: AbortSignal.timeout(5_000) });
        if (!response.ok) return undefined;
        const text = await response.text();
        return [p.name, { writes: counterValue(text, writesMetric), commits: counterValue(text, commitsMetric) }];
      } catch {
        return undefined;
      }
    }),
  );
  return Object.fromEntries(sampled.filter((entry) => entry !== undefined));
}

/** Writes and commits per completed order of each process that wrote anything between the samples. */
export function storeCountsPerOrder(before: Record<string, StoreCounts>, after: Record<string, StoreCounts>, completed: number): Record<string, StoreCounts> {
  const round = (n: number) => Math.round(n * 100) / 100;
  const perOrder: Record<string, StoreCounts> = {};
  for (const [name, end] of Object.entries(after)) {
    const start = before[name];
    if (start === undefined) continue;
    const writes = end.writes - start.writes;
    if (writes === 0) continue;
    perOrder[name] = { writes: round(writes / Math.max(1, completed)), commits: round((end.commits - start.commits) / Math.max(1, completed)) };
  }
  return perOrder;
}
