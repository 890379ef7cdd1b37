import { Inject, Injectable } from '@nestjs/common';
import { toSafeInt } from '@paygate/database';
import { DataSource, EntityManager } from 'typeorm';
import { hashApiKey } from '../api-keys/api-key-hash';
import { LedgerService } from '../credits/ledger.service';
import type { LimitPolicy } from '../plans/plan-feature.entity';
import type { SubscriptionStatus } from '../subscriptions/subscription.entity';
import { CheckInput, Decision } from './decision';
import { FeatureUsageService } from './feature-usage.service';
import { accessDeniedBy } from './subscription-access';

interface KeyRow {
  customer_id: string;
  scopes: string[];
  revoked_at: Date | null;
  expires_at: Date | null;
}

interface SubscriptionRow {
  id: string;
  status: SubscriptionStatus;
  current_period_start: Date;
  current_period_end: Date;
  plan_id: string;
  plan_key: string;
}

interface FeatureRow {
  kind: 'boolean' | 'metered';
  included_units: string;
  limit_policy: LimitPolicy;
  unit_price: string;
}

class Refusal extends Error {
  constructor(readonly decision: Decision) {
    super('refused');
  }
}

/**
 * The policy decision: who is calling, may their subscription and plan use this feature, and
 * do included units or credits cover the cost. An admitted metered request reserves its cost
 * as a lease in the same transaction, so concurrent checks can never admit more than allowed.
 */
@Injectable()
export class CheckUseCase {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly usage: FeatureUsageService,
  ) {}

  async execute(input: CheckInput): Promise<Decision> {
    const [key]: KeyRow[] = await this.dataSource.query(
      `SELECT "customer_id", "scopes", "revoked_at", "expires_at" FROM "entitlement"."api_keys" WHERE "key_hash" = $1`,
      [hashApiKey(input.apiKey)],
    );
    const now = new Date();
    if (!key || key.revoked_at || (key.expires_at && key.expires_at <= now)) {
      return { allowed: false, denial: { code: 'unauthenticated' } };
    }
    const customerId = key.customer_id;
    if (!input.requiredScopes.every((s) => key.scopes.includes(s))) {
      return { allowed: false, customerId, denial: { code: 'forbidden' } };
    }
    const [subscription]: SubscriptionRow[] = await this.dataSource.query(
      `SELECT s."id", s."status", s."current_period_start", s."current_period_end", s."plan_id", p."key" AS "plan_key"
       FROM "entitlement"."subscriptions" s JOIN "entitlement"."plans" p ON p."id" = s."plan_id"
       WHERE s."customer_id" = $1 ORDER BY s."created_at" DESC LIMIT 1`,
      [customerId],
    );
    if (!subscription) {
      return {
        allowed: false,
        customerId,
        denial: { code: 'feature-not-in-plan', feature: input.feature },
      };
    }
    const plan = subscription.plan_key;
    const statusProblem = accessDeniedBy(subscription.status);
    if (statusProblem) return { allowed: false, customerId, denial: { code: statusProblem, plan } };

    const [feature]: FeatureRow[] = await this.dataSource.query(
      `SELECT "kind", "included_units", "limit_policy", "unit_price" FROM "entitlement"."plan_features"
       WHERE "plan_id" = $1 AND "feature_key" = $2`,
      [subscription.plan_id, input.feature],
    );
    if (!feature) {
      return {
        allowed: false,
        customerId,
        denial: { code: 'feature-not-in-plan', plan, feature: input.feature },
      };
    }
    if (feature.kind === 'boolean' || input.cost === 0) return { allowed: true, customerId, plan };

    try {
      return await this.dataSource.transaction((manager) =>
        this.reserve(manager, input, customerId, subscription, feature),
      );
    } catch (err) {
      if (err instanceof Refusal) return err.decision;
      throw err;
    }
  }

  /** Refuses from inside the reservation transaction, so that everything it wrote rolls back. */
  private refuse(decision: Decision): never {
    throw new Refusal(decision);
  }

  private async reserve(
    manager: EntityManager,
    input: CheckInput,
    customerId: string,
    subscription: SubscriptionRow,
    feature: FeatureRow,
  ): Promise<Decision> {
    const plan = subscription.plan_key;
    const included = toSafeInt(feature.included_units);
    const periodStart = subscription.current_period_start;
    const used = await this.usage.lock(manager, subscription.id, input.feature, periodStart);
    const fromIncluded = Math.min(input.cost, Math.max(0, included - used));
    const beyond = input.cost - fromIncluded;
    let credits = 0;
    if (beyond > 0 && feature.limit_policy === 'block') {
      this.refuse({
        allowed: false,
        customerId,
        denial: {
          code: 'quota-exhausted',
          plan,
          feature: input.feature,
          limit: included,
          used,
          required: input.cost,
          resetsAt: subscription.current_period_end,
        },
      });
    }
    if (beyond > 0 && feature.limit_policy === 'credits') {
      credits = beyond * toSafeInt(feature.unit_price);
      if (
        credits > 0 &&
        (await this.ledger.takeIfAvailable(manager, customerId, credits)) === null
      ) {
        this.refuse({
          allowed: false,
          customerId,
          denial: {
            code: 'insufficient-credits',
            plan,
            feature: input.feature,
            balance: await this.ledger.available(manager, customerId),
            required: credits,
          },
        });
      }
    }
    const [lease]: { id: string }[] = await manager.query(
      `INSERT INTO "entitlement"."leases"
         ("customer_id", "subscription_id", "feature_key", "period_start", "request_id", "units", "credits", "status")
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'held') RETURNING "id"`,
      [
        customerId,
        subscription.id,
        input.feature,
        periodStart,
        input.requestId,
        input.cost,
        credits,
      ],
    );
    if (credits > 0) {
      await this.ledger.recordTaken(manager, {
        customerId,
        type: 'reserve',
        amount: -credits,
        idempotencyKey: `lease:${lease.id}:reserve`,
        leaseId: lease.id,
        description: `request ${input.requestId}`,
      });
    }
    await this.usage.add(manager, subscription.id, input.feature, periodStart, input.cost);
    return { allowed: true, customerId, plan, leaseId: lease.id };
  }
}
