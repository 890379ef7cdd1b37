/** What one try of a call came to. */
export type Attempt =
  | { landed: true }
  /** `kept`: queued to be tried again; false only when the queue was full (then it is lost). */
  | { landed: false; error: Error; kept: boolean };

export interface RetryOptions {
  /** A failed call is tried again this long after its last try. */
  everyMs: number;
  /** And given up on this long after its first failure. */
  forMs: number;
  /** Calls kept at most; one failing beyond that is not kept. */
  max: number;
}

interface Pending {
  call: () => Promise<void>;
  since: number;
  nextAt: number;
}

/**
 * Remote calls that must land, each under a key, tried again until they do or `forMs` has
 * passed: a lease's close, and units given back to a lease already closed. Until the first
 * lands the service would count served units as unserved (a close) or charge for a request
 * that was not served (a give-back). A call that failed may have been applied all the same
 * (its answer was lost), so every call kept here must be safe to send twice: a lease is closed
 * once, and a give-back names itself (its release id).
 */
export class RetriedCalls {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly options: RetryOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls waiting to be tried again. */
  get size(): number {
    return this.pending.size;
  }

  /** Tries `call` now; a failure is kept under `key` to be tried again (never thrown). */
  async attempt(key: string, call: () => Promise<void>): Promise<Attempt> {
    // A call tried again keeps the time of its first failure.
    const since = this.pending.get(key)?.since;
    this.pending.delete(key);
    try {
      await call();
      return { landed: true };
    } catch (err) {
      const error = err as Error;
      if (this.pending.size >= this.options.max) return { landed: false, error, kept: false };
      const now = this.now();
      this.pending.set(key, { call, since: since ?? now, nextAt: now + this.options.everyMs });
      return { landed: false, error, kept: true };
    }
  }

  /**
   * Tries once more each call that is due, telling `tried` how each went, and gives up on
   * those past `forMs`: their keys. One after another, so a service coming back is not sent
   * the whole backlog at once; at shutdown (`all`) every kept call at once, so the pass is
   * one deadline long however many there are. Passes may overlap (a slow one is still going
   * when the next starts): each kept call is tried by the first pass that reaches it only.
   */
  async retry(tried: (key: string, attempt: Attempt) => void, all = false): Promise<string[]> {
    const now = this.now();
    const abandoned: string[] = [];
    const due: [string, Pending][] = [];
    for (const [key, pending] of this.pending) {
      if (!all && pending.nextAt > now) continue;
      if (now - pending.since > this.options.forMs) abandoned.push(key);
      else due.push([key, pending]);
    }
    for (const key of abandoned) this.pending.delete(key);
    const once = async ([key, pending]: [string, Pending]) => {
      // Taken out of the queue by attempt() as it starts: another pass finds it gone (or
      // queued again, a new entry) and leaves it alone.
      if (this.pending.get(key) !== pending) return;
      tried(key, await this.attempt(key, pending.call));
    };
    if (all) await Promise.all(due.map(once));
    else for (const entry of due) await once(entry);
    return abandoned;
  }
}
