import type { HeldLease } from './lease-book';

export interface RenewalOptions {
  /** A lease is sized for this much of the recent request rate. */
  aheadMs: number;
  /** Leases older than this admit nothing more. */
  maxAgeMs: number;
  /** Renew once less than this share of the granted units is left. */
  renewAtShare: number;
}

/**
 * Whether a book should fetch its next lease now, before its leases run out, so steady traffic
 * never waits: when less than `renewAtShare` is left, or less than twice what the recent rate
 * uses up while a refill is under way (a lease of 100 units lasts 33 ms at 3,000 requests/s,
 * less than a refill takes under load), or when the units left age out before a refill could
 * land. Not when the recent demand fits in what is left, and never for a book that holds only
 * unmetered grants. The replica then holds up to two leases' units.
 */
export function renewalDue(
  leases: readonly HeldLease[],
  recentDemand: number,
  refillMs: number,
  now: number,
  options: RenewalOptions,
): boolean {
  // Units of a lease that ages out before a refill could land are not counted as open: a busy
  // key whose lease grows old with units left would otherwise wait for a new one once it is
  // too old to admit from.
  const usableUntil = now + 2 * refillMs;
  let open = 0;
  let granted = 0;
  for (const l of leases) {
    if (!Number.isFinite(l.units)) continue;
    granted += l.units;
    if (l.obtainedAt + options.maxAgeMs > usableUntil) open += l.units - l.admitted;
  }
  if (granted === 0) return false;
  const usedDuringRefill = (recentDemand / options.aheadMs) * refillMs;
  if (open > Math.max(granted * options.renewAtShare, 2 * usedDuringRefill)) return false;
  return recentDemand > open;
}

/**
 * How long a refill takes lately: a moving average over every book's refills (one service
 * answers them all), which tells how early a renewal must start.
 */
export class RefillTime {
  private averageMs = 0;

  get ms(): number {
    return this.averageMs;
  }

  observe(ms: number): void {
    this.averageMs = 0.8 * this.averageMs + 0.2 * ms;
  }
}
