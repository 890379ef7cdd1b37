import type { Clock } from '@paygate/clock';
import type { DataSource } from 'typeorm';
import { hashApiKey } from '../api-keys/api-key-hash';
import { apiKeys } from '../api-keys/api-keys.repository';
import { type FeatureTerms, plans } from '../plans/plans.repository';
import type {
  CurrentSubscription,
  SubscriptionLifecycleService,
} from '../subscriptions/subscription-lifecycle.service';
import type { CheckInput, Decision } from './decision';
import { decisionReads } from './decision-reads.repository';

/** Who is asking, with what the decision needs to know of them (see readCaller). */
export interface Caller {
  customerId: string;
  subscription: CurrentSubscription | undefined;
  feature: FeatureTerms | undefined;
  /** For a key: the snapshot its key, customer, subscription and plan were read under. */
  read?: { snapshot: string; databaseRun: string };
}

export interface CallerReadContext {
  dataSource: DataSource;
  subscriptions: SubscriptionLifecycleService;
  clock: Clock;
}

/**
 * The customer asking, its current subscription and the feature's terms in that plan
 * version. The customer is identified by API key (valid, unexpired, with the route's
 * scopes), whose key, customer, subscription and terms one statement reads (decisionReads);
 * or it is named by the gateway after a payment it settled for this request identified the
 * payer (no key, so no scopes; read in turn). Either way a blocked customer is refused.
 */
export async function readCaller(
  { dataSource, subscriptions, clock }: CallerReadContext,
  input: CheckInput,
): Promise<Caller | Decision> {
  const manager = dataSource.manager;
  if (!input.apiKey && input.customerId) {
    const blocked = await apiKeys.customerBlocked(manager, input.customerId);
    if (blocked === undefined) return { allowed: false, denial: { code: 'unauthenticated' } };
    if (blocked)
      return {
        allowed: false,
        customerId: input.customerId,
        denial: { code: 'customer-blocked' },
      };
    const subscription = await subscriptions.current(input.customerId);
    const feature =
      subscription && (await plans.featureTerms(manager, subscription.planId, input.feature));
    return { customerId: input.customerId, subscription, feature };
  }
  const read = await decisionReads.forKey(manager, hashApiKey(input.apiKey), input.feature);
  const key = read?.key;
  const now = clock.now();
  if (!read || !key || key.revoked_at || (key.expires_at && key.expires_at <= now)) {
    return { allowed: false, denial: { code: 'unauthenticated' } };
  }
  // Blocked says what no key of the customer's can change (its own code, and its own words
  // to the caller); a missing scope is this key's.
  if (key.blocked)
    return { allowed: false, customerId: key.customer_id, denial: { code: 'customer-blocked' } };
  if (!input.requiredScopes.every((s) => key.scopes.includes(s))) {
    return { allowed: false, customerId: key.customer_id, denial: { code: 'forbidden' } };
  }
  const { subscription, rolled } = await subscriptions.upToDate(key.customer_id, read.subscription);
  // A roll may have moved the subscription to another plan version (a scheduled change).
  const feature =
    subscription && rolled
      ? await plans.featureTerms(manager, subscription.planId, input.feature)
      : read.feature;
  const { snapshot, databaseRun } = read;
  return { customerId: key.customer_id, subscription, feature, read: { snapshot, databaseRun } };
}
