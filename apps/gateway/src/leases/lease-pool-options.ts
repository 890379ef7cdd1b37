import type { CheckRequest, CheckResponse } from '@paygate/contracts';

/** The remote calls a pool makes (the entitlement service's Check and Release). */
export interface LeaseCalls {
  /** `paid`: asked for a request whose own payment was credited, which waits longer. */
  check(request: CheckRequest, paid: boolean): Promise<CheckResponse>;
  /** Gives back units of requests that were admitted but not served. */
  release(leaseId: string, units: number, reason: string): Promise<void>;
  /**
   * The pool is done with a lease: `units` were never admitted and go back, every other unit
   * was served (or is given back later by `release`), so the service never expires them back.
   */
  close(leaseId: string, units: number, reason: string): Promise<void>;
}

export interface LeasePoolOptions {
  /** Most units one lease may reserve: what a replica can hold that others cannot use. */
  maxUnits: number;
  /** A lease is sized for this much of the recent request rate (plus what is waiting now). */
  aheadMs: number;
  /** Unused units go back to the ledger after this long without a request using them. */
  idleMs: number;
  /** And at the latest this long after they were granted (well inside the service's TTL). */
  maxAgeMs: number;
  /**
   * A new lease is fetched in the background once a lease has less than this share left, or
   * earlier when that would not last through a refill's round trip at the recent rate.
   */
  renewAtShare: number;
  /** Called for an admission that found no lease with room: it waits for a remote call. */
  onWait?: () => void;
  /**
   * A busy key's demand is remembered this long after its book went idle (default 60 s), so
   * its first lease when it resumes is sized from it (see LeaseBook.recentDemand).
   */
  rememberDemandMs?: number;
}
