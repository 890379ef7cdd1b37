import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time spent by groups of processes over a measured window, read from Linux's /proc.
 * A throughput figure on a shared 2-core machine says little on its own: which process the
 * cores went to says what limits it, and requests per CPU-second of one process is its cost.
 */

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux this runs on.
const TICKS_PER_SECOND = 100;

function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)"; comm may contain spaces, so split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0; // the process has exited
  }
}

/** Pids whose command line matches, e.g. the Kafka broker's JVM or every Postgres backend. */
export function pidsMatching(pattern: RegExp): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (pattern.test(cmdline)) pids.push(Number(entry));
    } catch {
      // gone between listing and reading
    }
  }
  return pids;
}

export type ProcessGroups = Record<string, () => number[]>;

/** CPU seconds per group between start() and the call of the function it returns. */
export function measureCpu(groups: ProcessGroups): () => Record<string, number> {
  const before = new Map<string, Map<number, number>>();
  for (const [name, pids] of Object.entries(groups)) {
    before.set(name, new Map(pids().map((pid) => [pid, ticks(pid)])));
  }
  return () => {
    const seconds: Record<string, number> = {};
    for (const [name, pids] of Object.entries(groups)) {
      const start = before.get(name) ?? new Map<number, number>();
      let total = 0;
      for (const pid of new Set([...start.keys(), ...pids()])) {
        total += Math.max(0, ticks(pid) - (start.get(pid) ?? 0));
      }
      seconds[name] = total / TICKS_PER_SECOND;
    }
    return seconds;
  };
}

/**
 * "gateway 212 µs, kafka 80 µs, …": CPU per unit of work (a request, an event) of each process
 * group, largest first.
 */
export function cpuPerUnit(cpu: Record<string, number>, units: number, digits: number): string {
  return Object.entries(cpu)
    .filter(([, seconds]) => seconds > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, seconds]) => `${name} ${((seconds / units) * 1e6).toFixed(digits)} µs`)
    .join(', ');
}

/**
 * CPU seconds of this process's children that have exited and been reaped (cutime + cstime
 * of /proc/self/stat): how a short-lived helper such as a kcat publisher is counted, since its
 * own /proc entry is gone by the time a window closes.
 */
export function reapedChildrenSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}
