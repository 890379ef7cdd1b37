import type { CheckResponse } from '@paygate/contracts';

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
  /** Bumped when the book's leases are dropped: a grant asked for before is not kept. */
  generation = 0;
  /** The last allowed answer and when it came, for the fail-open policy. */
  lastGrant?: { grant: CheckResponse; at: number };
  /** Units admitted without a lease while the service could not answer (reset by a grant). */
  failOpenUnits = 0;
  lastActivity = 0;
  private windowStart = 0;
  private unitsThisWindow = 0;
  private unitsLastWindow = 0;

  constructor(
    readonly key: string,
    private readonly rateWindowMs: number,
  ) {}

  noteDemand(units: number, now: number): void {
    if (now - this.windowStart >= this.rateWindowMs) {
      this.unitsLastWindow =
        now - this.windowStart >= 2 * this.rateWindowMs ? 0 : this.unitsThisWindow;
      this.unitsThisWindow = 0;
      this.windowStart = now;
    }
    this.unitsThisWindow += units;
    this.lastActivity = now;
  }

  /** Units per window recently asked for: the larger of the last full window and this one. */
  recentDemand(): number {
    return Math.max(this.unitsLastWindow, this.unitsThisWindow);
  }

  /** Units held and not yet admitted (counted leases only). */
  open(): number {
    // On every admission: a loop, not a filtered copy.
    let n = 0;
    for (const l of this.leases) if (Number.isFinite(l.units)) n += l.units - l.admitted;
    return n;
  }
}
