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
