import type { CheckResponse } from '@paygate/contracts';
import type { NotedChanges } from './noted-changes';

export interface HeldLease {
  grant: CheckResponse;
  /**
   * Infinite for an allowed answer without a lease (a boolean feature, or a request of cost
   * 0): nothing to count, so it admits every such request until it is dropped or idle/old.
   */
  units: number;
  admitted: number;
  obtainedAt: number;
  lastUsedAt: number;
}

export interface Refill {
  cost: number;
  /** Asked for a paid request, with the longer deadline (PAYMENT_CALL_TIMEOUT_MS). */
  paid: boolean;
  outcome: Promise<CheckResponse>;
}

/** The leases of one API key for one feature (and scope set) on this replica. */
export class LeaseBook {
  readonly leases: HeldLease[] = [];
  /** The sweep slot the book is due to be looked at in (see SweepSchedule). */
  slot?: number;
  refill?: Refill;
  waitingUnits = 0;
  customerId?: string;
  /**
   * The changes that dropped the book's leases while its refill was asked for (undefined: none):
   * its grant is kept only if made with every one (LeasePool.ask).
   */
  droppedWhileAsked?: NotedChanges;
  /** The last allowed answer and when it came, for the fail-open policy. */
  lastGrant?: { grant: CheckResponse; at: number };
  /** Units admitted without a lease while the service could not answer (reset by a grant). */
  failOpenUnits = 0;
  lastActivity = 0;
  private windowStart = 0;
  private unitsThisWindow = 0;
  private unitsLastWindow = 0;
  /**
   * Units of the last window that had any before a pause (no demand for a whole window): what
   * the key is expected to ask for when it resumes, until it has a full window of its own.
   */
  private beforePause = 0;

  constructor(
    readonly key: string,
    private readonly rateWindowMs: number,
  ) {}

  noteDemand(units: number, now: number): void {
    if (now - this.windowStart >= this.rateWindowMs) {
      const paused = now - this.windowStart >= 2 * this.rateWindowMs;
      if (paused && this.unitsThisWindow > 0) this.beforePause = this.busyDemand();
      this.unitsLastWindow = paused ? 0 : this.unitsThisWindow;
      this.unitsThisWindow = 0;
      this.windowStart = now;
    }
    this.unitsThisWindow += units;
    this.lastActivity = now;
  }

  /**
   * Units per window recently asked for: the larger of the last full window and this one; in
   * the first window after a pause, at least what the key asked for before it, so the first
   * requests of a burst do not wait for leases that grow from one unit at a time.
   */
  recentDemand(): number {
    const recent = this.busyDemand();
    return this.unitsLastWindow === 0 ? Math.max(recent, this.beforePause) : recent;
  }

  /** The demand of the last windows with requests (what a book that goes idle remembers). */
  busyDemand(): number {
    return Math.max(this.unitsLastWindow, this.unitsThisWindow);
  }

  /**
   * Nothing is known of the key but the requests waiting now: no earlier window had any, none
   * was admitted in this one, and no demand from before a pause is remembered. Its next
   * requests are as likely not to come soon as to come: its lease is sized to what waits.
   */
  unseen(): boolean {
    return (
      this.unitsLastWindow === 0 &&
      this.beforePause === 0 &&
      this.unitsThisWindow <= this.waitingUnits
    );
  }

  /** A new book for a key that was busy before its last book went idle. */
  resumeFrom(units: number): void {
    this.beforePause = units;
  }

  /** Units held and not yet admitted (counted leases only). */
  open(): number {
    // On every admission: a loop, not a filtered copy.
    let n = 0;
    for (const l of this.leases) if (Number.isFinite(l.units)) n += l.units - l.admitted;
    return n;
  }
}
