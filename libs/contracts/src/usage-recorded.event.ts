/**
 * Published by metering on TOPICS.usageRecorded (keyed by customer) after usage was
 * deduplicated and aggregated. `id` is unique per message: consumers apply each id once.
 */
export interface UsageRecordedEvent {
  id: string;
  customerId: string;
  meterKey: string;
  /**
   * Total units recorded in this message, leased ones included. A safe integer (at most
   * 2^53 − 1, exact as a JSON number): metering splits a larger total into several messages,
   * and a consumer refuses a message past the bound (isUsageRecordedEvent) rather than round it.
   */
  quantity: number;
  /** Units that were admitted from a lease and are already reserved in the ledger. */
  leased: LeasedUsage[];
  /** Earliest and latest event time covered by this message (RFC 3339). */
  firstEventAt: string;
  lastEventAt: string;
  recordedAt: string;
}

export interface LeasedUsage {
  leaseId: string;
  /** A safe integer; the leased quantities of a message add up to at most its quantity. */
  quantity: number;
}

export function isUsageRecordedEvent(value: unknown): value is UsageRecordedEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    v.id.length > 0 &&
    typeof v.customerId === 'string' &&
    typeof v.meterKey === 'string' &&
    Number.isSafeInteger(v.quantity) &&
    Array.isArray(v.leased) &&
    v.leased.every(
      (l: unknown) =>
        typeof l === 'object' &&
        l !== null &&
        typeof (l as LeasedUsage).leaseId === 'string' &&
        Number.isSafeInteger((l as LeasedUsage).quantity),
    )
  );
}
