// CPU time and resident memory of a process, from Linux's /proc: utime+stime of /proc/<pid>/stat
// (clock ticks) and VmRSS of /proc/<pid>/status.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds (user + system) the process has used so far; undefined when it is gone. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, so 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Resident set size in MiB; undefined when the process is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU and memory of named processes at one moment. */
export type Usage = Record<string, { cpuMs: number; rssMiB: number }>;

export function sampleUsage(processes: { name: string; pid: number }[]): Usage {
  return Object.fromEntries(processes.map((p) => [p.name, { cpuMs: cpuMs(p.pid) ?? Number.NaN, rssMiB: rssMiB(p.pid) ?? Number.NaN }]));
}
