import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface PacedResult {
  sent: number;
  /** Answers other than 2xx, and requests that failed outright. */
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /**
   * Where the slowest 1 % of the counted requests were due, by 100 ms of the phase: the
   * busiest slots first, so a tail from one stall reads differently from one spread out.
   */
  tail: { atSeconds: number; requests: number; maxMs: number }[];
}

/** The slots of SLOT_MS holding most of the slowest 1 %, at most TAIL_SLOTS of them. */
const SLOT_MS = 100;
const TAIL_SLOTS = 5;

function tailOf(timed: { due: number; ms: number }[], p99: number): PacedResult['tail'] {
  const slots = new Map<number, { requests: number; maxMs: number }>();
  for (const { due, ms } of timed) {
    if (ms < p99) continue;
    const slot = Math.floor(due / SLOT_MS);
    const at = slots.get(slot) ?? { requests: 0, maxMs: 0 };
    at.requests++;
    at.maxMs = Math.max(at.maxMs, ms);
    slots.set(slot, at);
  }
  return [...slots]
    .sort((a, b) => b[1].requests - a[1].requests)
    .slice(0, TAIL_SLOTS)
    .map(([slot, at]) => ({ atSeconds: (slot * SLOT_MS) / 1000, ...at }));
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
  /** The same fields for every request, or the fields of the n-th request sent. */
  headers: Record<string, string> | ((n: number) => Record<string, string>),
  rate: number,
  seconds: number,
  warmUpSeconds = 2,
): Promise<PacedResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 64, pipelining: 1 });
  const skipped = Math.round(rate * warmUpSeconds);
  const total = skipped + Math.round(rate * seconds);
  const latencies: number[] = [];
  const timed: { due: number; ms: number }[] = [];
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  const fieldsOf = typeof headers === 'function' ? headers : () => headers;
  const send = (n: number, due: number, counted: boolean) =>
    pool
      .request({ method: 'GET', path: target.pathname + target.search, headers: fieldsOf(n) })
      .then(async (res) => {
        await res.body.dump();
        if (counted && (res.statusCode < 200 || res.statusCode >= 300)) failed++;
      })
      .catch(() => {
        if (counted) failed++;
      })
      .finally(() => {
        if (!counted) return;
        const ms = performance.now() - due;
        latencies.push(ms);
        // Due time from the start of the counted part.
        timed.push({ due: due - start - warmUpSeconds * 1000, ms });
      });
  let next = 0;
  while (next < total) {
    const now = performance.now();
    // Every request due by now goes out, however late the timer fired.
    while (next < total && start + (next * 1000) / rate <= now) {
      inFlight.push(send(next, start + (next * 1000) / rate, next >= skipped));
      next++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  await pool.close();
  const sorted = latencies.sort((a, b) => a - b);
  const p99 = percentile(sorted, 99);
  return {
    sent: total - skipped,
    failed,
    p50: percentile(sorted, 50),
    p99,
    max: sorted[sorted.length - 1] ?? NaN,
    tail: tailOf(timed, p99),
  };
}
