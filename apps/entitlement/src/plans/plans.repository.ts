import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { LimitPolicy, UsagePeriod } from './plan-terms';

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
  concurrency_limit: number | null;
}

/** The columns of plan_features that make a FeatureTerms (see decisionReads too). */
export const FEATURE_TERMS_COLUMNS = `"kind", "included_units", "limit_policy", "unit_price", "usage_period",
  "soft_limit_percent", "rate_limit_requests", "rate_limit_window_seconds", "concurrency_limit"`;

/** A metered feature as the period usage view lists it. */
export interface MeteredFeature {
  feature_key: string;
  meter_key: string | null;
  usage_period: UsagePeriod;
  limit_policy: LimitPolicy;
  included_units: string;
}

/** What charging a meter's usage needs of the metered feature it counts for. */
export type MeteredFeatureTerms = Pick<
  FeatureTerms,
  'included_units' | 'limit_policy' | 'unit_price' | 'usage_period'
> & { feature_key: string };

/** A plan version as the billing page offers it. */
export interface PlanOffer {
  id: string;
  key: string;
  name: string;
}

/** The SQL of plans and their features (plan_features). */
export const plans = {
  /** Takes the plan key's advisory lock, held until the transaction ends. */
  async lockKey(manager: EntityManager, planKey: string): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`plan:${planKey}`]);
  },

  /** The version a new plan with this key gets: one past its newest, or 1. */
  async nextVersion(manager: EntityManager, planKey: string): Promise<number> {
    const [{ next }]: { next: number }[] = await manager.query(
      `SELECT COALESCE(MAX("version"), 0) + 1 AS "next" FROM ${tables.plans} WHERE "key" = $1`,
      [planKey],
    );
    return next;
  },

  /** The newest version of each of these plans that exists, by key. */
  newestOf(manager: EntityManager, planKeys: string[]): Promise<PlanOffer[]> {
    return manager.query(
      `SELECT DISTINCT ON ("key") "id", "key", "name" FROM ${tables.plans}
       WHERE "key" = ANY($1) ORDER BY "key", "version" DESC`,
      [planKeys],
    );
  },

  /** The id of a plan's newest version, by key (what new subscriptions get). */
  async newestId(manager: EntityManager, planKey: string): Promise<string | undefined> {
    const [row]: { id: string }[] = await manager.query(
      `SELECT "id" FROM ${tables.plans} WHERE "key" = $1 ORDER BY "version" DESC LIMIT 1`,
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
      `SELECT "kind", "limit_policy", "unit_price" FROM ${tables.plan_features}
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
      `SELECT ${FEATURE_TERMS_COLUMNS} FROM ${tables.plan_features}
       WHERE "plan_id" = $1 AND "feature_key" = $2`,
      [planId, featureKey],
    );
    return row;
  },

  /** A plan version's metered features, by feature key. */
  meteredFeatures(manager: EntityManager, planId: string): Promise<MeteredFeature[]> {
    return manager.query(
      `SELECT "feature_key", "meter_key", "usage_period", "limit_policy", "included_units"
       FROM ${tables.plan_features} WHERE "plan_id" = $1 AND "kind" = 'metered' ORDER BY "feature_key"`,
      [planId],
    );
  },

  /** The metered feature of a plan version that a meter counts for (the first by key), if any. */
  async meteredFeatureOf(
    manager: EntityManager,
    planId: string,
    meterKey: string,
  ): Promise<MeteredFeatureTerms | undefined> {
    const first: MeteredFeatureTerms[] = await manager.query(
      `SELECT "feature_key", "included_units", "limit_policy", "unit_price", "usage_period" FROM ${tables.plan_features}
       WHERE "plan_id" = $1 AND "meter_key" = $2 AND "kind" = 'metered' ORDER BY "feature_key" LIMIT 1`,
      [planId, meterKey],
    );
    return first[0];
  },
};
