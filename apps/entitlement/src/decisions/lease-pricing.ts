/**
 * How a decision prices a lease, without reading or writing anything: which units of the
 * request come from the plan's included units and which go beyond them, and how many units
 * beyond the request itself (for the gateway to admit later requests locally) it may take.
 * CheckUseCase reads what these need under its locks and writes what they decide.
 */

export interface LeaseAsk {
  /** Units this request costs. */
  cost: number;
  /** Units wanted in all, this request's and the next ones' (0 or absent: the cost). */
  leaseUnits?: number;
  /** Units the plan includes in the window, and those used of them so far. */
  included: number;
  used: number;
}

export interface IncludedSplit {
  /** Of the request's cost: covered by included units, and beyond them. */
  fromIncluded: number;
  beyond: number;
  /** Extra units wanted past the cost, and how many of them included units cover. */
  extraWanted: number;
  extraIncluded: number;
}

/** Included units first, for the request and then for the extra units of its lease. */
export function splitIncluded(ask: LeaseAsk): IncludedSplit {
  const left = Math.max(0, ask.included - ask.used);
  const fromIncluded = Math.min(ask.cost, left);
  const extraWanted = Math.max(0, (ask.leaseUnits || ask.cost) - ask.cost);
  return {
    fromIncluded,
    beyond: ask.cost - fromIncluded,
    extraWanted,
    extraIncluded: Math.min(extraWanted, Math.max(0, left - ask.cost)),
  };
}

/**
 * Extra units paid with credits at `price` each: as many of `wanted` as the `available`
 * balance covers once the request's own `beyond` units are paid, so near the end of the
 * balance the lease shrinks to the cost itself. Free units (price 0) are all granted, and
 * `available` is then not needed.
 */
export function extraOnCredits(
  wanted: number,
  beyond: number,
  price: number,
  available: number | undefined,
): number {
  if (price === 0) return wanted;
  if (wanted <= 0 || available === undefined) return 0;
  return Math.min(wanted, Math.max(0, Math.floor((available - beyond * price) / price)));
}
