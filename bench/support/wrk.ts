import { execFileSync } from 'node:child_process';
import { ProcessGroups, measureCpu } from './cpu';

export interface Result {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/** wrk's "--latency" report: Requests/sec and the 50/99 % latency lines, in milliseconds. */
export function parseWrk(output: string): Result {
  const ms = (line: string | undefined) => {
    const m = /([\d.]+)(us|ms|s)\b/.exec(line ?? '');
    if (!m) return NaN;
    const value = Number(m[1]);
    return m[2] === 'us' ? value / 1000 : m[2] === 's' ? value * 1000 : value;
  };
  const lines = output.split('\n');
  return {
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN),
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    p50: ms(lines.find((l) => /^\s+50%/.test(l))),
    p99: ms(lines.find((l) => /^\s+99%/.test(l))),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
  };
}

export interface Measured extends Result {
  /** CPU seconds per process group during the run. */
  cpu: Record<string, number>;
}

/** wrk at saturation (1 thread, `connections`, `seconds`), with the CPU of each group. */
export function wrk(
  url: string,
  groups: ProcessGroups,
  options: { connections: number; seconds: number; headers?: string[] },
): Measured {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency'];
  for (const h of options.headers ?? []) args.push('-H', h);
  const stop = measureCpu(groups);
  const result = parseWrk(execFileSync('wrk', [...args, url], { encoding: 'utf8' }));
  return { ...result, cpu: stop() };
}

/**
 * Several runs of one target as one: requests, non-2xx answers and CPU summed (so CPU per
 * request is over all of them), throughput the mean, p50 and p99 the median of the runs'.
 */
export function combined(runs: Measured[]): Measured {
  const cpu: Record<string, number> = {};
  for (const run of runs)
    for (const [group, seconds] of Object.entries(run.cpu))
      cpu[group] = (cpu[group] ?? 0) + seconds;
  const sum = (pick: (r: Measured) => number) => runs.reduce((n, r) => n + pick(r), 0);
  return {
    requests: sum((r) => r.requests),
    perSecond: sum((r) => r.perSecond) / runs.length,
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    non2xx: sum((r) => r.non2xx),
    cpu,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
