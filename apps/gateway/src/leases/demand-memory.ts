/**
 * What busy keys asked for a window before their lease books went idle, kept for a while
 * (default a minute) so a key that resumes gets its first lease sized from that demand: a burst
 * after a pause waits for one lease request, not for leases growing from one unit.
 *
 * Only keys that asked for more than one unit a window are kept, so a million keys seen once
 * cost nothing here; entries are kept oldest first, so pruning stops at the first one still
 * remembered.
 */
export class DemandMemory {
  private readonly past = new Map<string, { units: number; at: number }>();

  constructor(private readonly rememberMs: number) {}

  /** A book went idle at `at` having asked for `units` a window. */
  remember(key: string, units: number, at: number): void {
    if (units <= 1) return;
    // Re-inserted at the end, so the map stays ordered by when.
    this.past.delete(key);
    this.past.set(key, { units, at });
  }

  /** The demand to resume from (and forgets it: the new book carries it), if still recent. */
  recall(key: string, now: number): number | undefined {
    const past = this.past.get(key);
    if (!past) return undefined;
    this.past.delete(key);
    return now - past.at < this.rememberMs ? past.units : undefined;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.past.size;
  }

  /** Forgets what is older than the memory's span. */
  prune(now: number): void {
    for (const [key, past] of this.past) {
      if (now - past.at < this.rememberMs) break;
      this.past.delete(key);
    }
  }
}
