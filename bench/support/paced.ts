import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface PacedResult {
  sent: number;
  /** Answers other than 2xx, and requests that failed outright. */
  failed: number;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/**
 * Requests at a fixed rate (an open model, unlike wrk's closed loop of connections), each
 * timed from when it was due rather than when it went out, so a stall delays every request
 * behind it in the figures too (no coordinated omission). Far below capacity, p99 is then the
 * latency a hop adds rather than the queue a saturating load builds in front of it. The first
 * `warmUpSeconds` at the same rate are not counted (connections, JIT, a lease sized to the
 * rate: what steady traffic finds).
 */
export async function paced(
  url: string,
  headers: Record<string, string>,
  rate: number,
  seconds: number,
  warmUpSeconds = 2,
): Promise<PacedResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 64, pipelining: 1 });
  const skipped = Math.round(rate * warmUpSeconds);
  const total = skipped + Math.round(rate * seconds);
  const latencies: number[] = [];
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const send = (due: number, counted: boolean) =>
    pool
      .request({ method: 'GET', path: target.pathname + target.search, headers })
      .then(async (res) => {
        await res.body.dump();
        if (counted && (res.statusCode < 200 || res.statusCode >= 300)) failed++;
      })
      .catch(() => {
        if (counted) failed++;
      })
      .finally(() => {
        if (counted) latencies.push(performance.now() - due);
      });
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // Every request due by now goes out, however late the timer fired.
    while (next < total && start + (next * 1000) / rate <= now) {
      inFlight.push(send(start + (next * 1000) / rate, next >= skipped));
      next++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  await pool.close();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    sent: total - skipped,
    failed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}
