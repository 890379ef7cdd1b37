import type { EntityManager } from 'typeorm';
import { preparedQuery } from '@paygate/database';
import type { KeyForDecision } from '../api-keys/api-keys.repository';
import { DATABASE_RUN_SQL } from '../database/database-run';
import { tables } from '../database/schema';
import { FEATURE_TERMS_COLUMNS, type FeatureTerms } from '../plans/plans.repository';
import {
  latestSubscriptionSql,
  type SubscriptionRow,
} from '../subscriptions/subscriptions.repository';

/** What a decision reads before its transaction, for an API key. */
export interface KeyedReads {
  key: KeyForDecision;
  /** The customer's latest subscription as stored (its period not yet brought up to date). */
  subscription: SubscriptionRow | undefined;
  /** The feature's terms in that subscription's plan version, if the plan has the feature. */
  feature: FeatureTerms | undefined;
  /** The statement's snapshot (pg_snapshot text): what the decision was made with. */
  snapshot: string;
  /** The database server run that snapshot is of (DATABASE_RUN_SQL). */
  databaseRun: string;
}

type ReadRow = { read_snapshot: string; read_database_run: string } & KeyForDecision & {
    [K in keyof SubscriptionRow]: SubscriptionRow[K] | null;
  } & {
    [K in keyof FeatureTerms]: FeatureTerms[K] | null;
  };

/** Key hash $1, feature key $2: one row, or none when no key has that hash. */
const FOR_KEY_SQL = `SELECT pg_current_snapshot()::text AS "read_snapshot",
       ${DATABASE_RUN_SQL} AS "read_database_run", k."customer_id", k."scopes", k."revoked_at", k."expires_at", c."blocked", s.*, f.*
       FROM ${tables.api_keys} k JOIN ${tables.customers} c ON c."id" = k."customer_id"
       LEFT JOIN LATERAL (${latestSubscriptionSql('k."customer_id"')}) s ON true
       LEFT JOIN LATERAL (
         SELECT ${FEATURE_TERMS_COLUMNS} FROM ${tables.plan_features}
         WHERE "plan_id" = s."plan_id" AND "feature_key" = $2
       ) f ON true
       WHERE k."key_hash" = $1`;

/**
 * The SQL of a decision's reads. A decision for a key needs the key and its customer, the
 * customer's latest subscription and the feature's terms in its plan: one statement (one
 * snapshot, one round trip) instead of three, since leases make every decision a wait some
 * request is having. The subscription and the terms are read by the SQL that subscriptions
 * and plans read them with on their own (latestSubscriptionSql, FEATURE_TERMS_COLUMNS).
 */
export const decisionReads = {
  /** The statement forKey runs (bench/decision-scale prints its plan). */
  forKeySql: FOR_KEY_SQL,

  async forKey(
    manager: EntityManager,
    keyHash: string,
    featureKey: string,
  ): Promise<KeyedReads | undefined> {
    const [row]: ReadRow[] = await preparedQuery(manager, FOR_KEY_SQL, [keyHash, featureKey]);
    if (!row) return undefined;
    const key: KeyForDecision = {
      customer_id: row.customer_id,
      scopes: row.scopes,
      revoked_at: row.revoked_at,
      expires_at: row.expires_at,
      blocked: row.blocked,
    };
    const subscription: SubscriptionRow | undefined =
      row.id === null
        ? undefined
        : {
            id: row.id,
            status: row.status as SubscriptionRow['status'],
            plan_id: row.plan_id as string,
            plan_key: row.plan_key as string,
            current_period_start: row.current_period_start as Date,
            current_period_end: row.current_period_end as Date,
            billing_interval: row.billing_interval as SubscriptionRow['billing_interval'],
            billing_anchor: row.billing_anchor as Date,
            cancel_at_period_end: row.cancel_at_period_end as boolean,
            past_due_since: row.past_due_since,
            grace_period_seconds: row.grace_period_seconds as number,
          };
    const feature: FeatureTerms | undefined =
      row.kind === null
        ? undefined
        : {
            kind: row.kind,
            included_units: row.included_units as string,
            limit_policy: row.limit_policy as FeatureTerms['limit_policy'],
            unit_price: row.unit_price as string,
            usage_period: row.usage_period as FeatureTerms['usage_period'],
            soft_limit_percent: row.soft_limit_percent,
            rate_limit_requests: row.rate_limit_requests,
            rate_limit_window_seconds: row.rate_limit_window_seconds,
            concurrency_limit: row.concurrency_limit,
          };
    return {
      key,
      subscription,
      feature,
      snapshot: row.read_snapshot,
      databaseRun: row.read_database_run,
    };
  },
};
