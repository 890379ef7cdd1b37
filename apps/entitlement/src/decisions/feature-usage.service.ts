import { Injectable } from '@nestjs/common';
import { toSafeInt } from '@paygate/database';
import type { EntityManager } from 'typeorm';

/** Units of a metered feature used in a subscription's period (included units are counted against it). */
@Injectable()
export class FeatureUsageService {
  /** Locks the period's counter row for the rest of the transaction and returns its value. */
  async lock(
    manager: EntityManager,
    subscriptionId: string,
    feature: string,
    periodStart: Date,
  ): Promise<number> {
    await manager.query(
      `INSERT INTO "entitlement"."feature_usage" ("subscription_id", "feature_key", "period_start", "used")
       VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`,
      [subscriptionId, feature, periodStart],
    );
    const [row]: { used: string }[] = await manager.query(
      `SELECT "used" FROM "entitlement"."feature_usage"
       WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3 FOR UPDATE`,
      [subscriptionId, feature, periodStart],
    );
    return toSafeInt(row.used);
  }

  async add(
    manager: EntityManager,
    subscriptionId: string,
    feature: string,
    periodStart: Date,
    units: number,
  ): Promise<void> {
    await manager.query(
      `UPDATE "entitlement"."feature_usage" SET "used" = "used" + $4
       WHERE "subscription_id" = $1 AND "feature_key" = $2 AND "period_start" = $3`,
      [subscriptionId, feature, periodStart, units],
    );
  }
}
