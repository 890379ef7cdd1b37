/**
 * Published by the entitlement service on TOPICS.entitlementChanged (keyed by customer)
 * whenever a decision for the customer could change, so gateways drop cached keys and
 * decisions at once instead of waiting for a TTL.
 */
export const ENTITLEMENT_CHANGE_REASONS = [
  'customer-created',
  'customer-changed',
  'subscription-created',
  'subscription-changed',
  'credits-granted',
  'balance-exhausted',
  'api-key-created',
  'api-key-revoked',
] as const;

export type EntitlementChangeReason = (typeof ENTITLEMENT_CHANGE_REASONS)[number];

export interface EntitlementChangedEvent {
  id: string;
  customerId: string;
  reason: EntitlementChangeReason;
  occurredAt: string;
  /**
   * The Postgres transaction that made the change (pg_current_xact_id, decimal). A decision
   * whose read snapshot shows it committed was made with the change (see decidedWith).
   * Absent from events of older services: the change is then taken as after any decision.
   */
  transactionId?: string;
  /**
   * The run of the Postgres server that committed it (its start time, epoch seconds as text):
   * transaction ids compare only within one run (a failover, a restore or a restart may start
   * another, whose ids are not after the last run's).
   */
  databaseRun?: string;
  /** The affected subscription or API key, when the reason names one. */
  subscriptionId?: string;
  apiKeyId?: string;
}

/** The event in a Kafka message value, or undefined when it is not one (logged by the caller). */
export function parseEntitlementChangedEvent(
  value: Buffer | string | null,
): EntitlementChangedEvent | undefined {
  let event: unknown;
  try {
    event = JSON.parse(value?.toString() ?? '');
  } catch {
    return undefined;
  }
  const e = event as Partial<EntitlementChangedEvent> | null;
  const known = ENTITLEMENT_CHANGE_REASONS as readonly string[];
  return e && typeof e.customerId === 'string' && known.includes(e.reason ?? '')
    ? (e as EntitlementChangedEvent)
    : undefined;
}

/** A transaction id (xid8) as Postgres writes it: a decimal below 2^64. */
const XID = /^(0|[1-9]\d{0,19})$/;

function xid(text: string): bigint | undefined {
  if (!XID.test(text)) return undefined;
  const value = BigInt(text);
  return value < 2n ** 64n ? value : undefined;
}

/**
 * Whether a Postgres snapshot (pg_current_snapshot()::text, `xmin:xmax:xip,...`) shows the
 * transaction `transactionId` as finished: below xmin, or below xmax and not in progress (the
 * rule of pg_visible_in_snapshot). A transaction that wrote an outbox row committed, so a
 * statement under that snapshot saw its change. Anything unreadable is false: the caller then
 * takes the change as made after the snapshot, which costs a remote call, never a wrong answer.
 */
export function snapshotShows(snapshot: string, transactionId: string): boolean {
  const id = xid(transactionId);
  const parts = snapshot.split(':');
  if (id === undefined || parts.length !== 3) return false;
  const [xmin, xmax] = [xid(parts[0]), xid(parts[1])];
  if (xmin === undefined || xmax === undefined || xmin > xmax) return false;
  if (id < xmin) return true;
  if (id >= xmax) return false;
  const running = parts[2] === '' ? [] : parts[2].split(',').map(xid);
  if (running.some((r) => r === undefined)) return false;
  return !running.includes(id);
}

/** The transaction that made a change, as its entitlement-changed event names it. */
export interface ChangeTransaction {
  id: string;
  databaseRun: string;
}

/** The change's transaction when its event names it (events of older services do not). */
export function changeTransaction(event: EntitlementChangedEvent): ChangeTransaction | undefined {
  const { transactionId, databaseRun } = event;
  return typeof transactionId === 'string' && typeof databaseRun === 'string' && databaseRun
    ? { id: transactionId, databaseRun }
    : undefined;
}

/**
 * Whether an answer was decided with a change: read in the same database run, under a
 * snapshot that shows the change's transaction committed. False when either side lacks them.
 */
export function decidedWith(
  answer: { readSnapshot?: string; readDatabaseRun?: string },
  change: ChangeTransaction,
): boolean {
  return (
    !!answer.readDatabaseRun &&
    answer.readDatabaseRun === change.databaseRun &&
    snapshotShows(answer.readSnapshot ?? '', change.id)
  );
}
