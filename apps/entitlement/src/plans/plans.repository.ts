import type { EntityManager } from 'typeorm';
import type { LimitPolicy, UsagePeriod } from './plan-feature.entity';

/** Everything a decision reads of how a plan version sells a feature. */
export interface FeatureTerms {
  kind: 'boolean' | 'metered';
  included_units: string;
  limit_policy: LimitPolicy;
  unit_price: string;
  usage_period: UsagePeriod;
  soft_limit_percent: number | null;
  rate_limit_requests: number | null;
  rate_limit_window_seconds: number | null;
}

/** The SQL of "entitlement"."plans" that more than one use case needs. */
export const plans = {
  /** The id of a plan's newest version, by key (what new subscriptions get). */
  async newestId(manager: EntityManager, planKey: string): Promise<string | undefined> {
    const [row]: { id: string }[] = await manager.query(
      `SELECT "id" FROM "entitlement"."plans" WHERE "key" = $1 ORDER BY "version" DESC LIMIT 1`,
      [planKey],
    );
    return row?.id;
  },

  /** How a plan version sells a feature (what a call is priced at), if it has the feature. */
  async feature(
    manager: EntityManager,
    planId: string,
    featureKey: string,
  ): Promise<{ kind: string; limit_policy: string; unit_price: string } | undefined> {
    const [row]: { kind: string; limit_policy: string; unit_price: string }[] = await manager.query(
      `SELECT "kind", "limit_policy", "unit_price" FROM "entitlement"."plan_features"
       WHERE "plan_id" = $1 AND "feature_key" = $2`,
      [planId, featureKey],
    );
    return row;
  },

  /** A feature's full terms in a plan version (CheckUseCase), if the plan has the feature. */
  async featureTerms(
    manager: EntityManager,
    planId: string,
    featureKey: string,
  ): Promise<FeatureTerms | undefined> {
    const [row]: FeatureTerms[] = await manager.query(
      `SELECT "kind", "included_units", "limit_policy", "unit_price", "usage_period", "soft_limit_percent",
         "rate_limit_requests", "rate_limit_window_seconds"
       FROM "entitlement"."plan_features"
       WHERE "plan_id" = $1 AND "feature_key" = $2`,
      [planId, featureKey],
    );
    return row;
  },
};
