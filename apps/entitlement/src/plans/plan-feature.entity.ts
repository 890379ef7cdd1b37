import { bigintToNumber } from '@paygate/database';
import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Plan } from './plan.entity';

export const FEATURE_KINDS = ['boolean', 'metered'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];
export const LIMIT_POLICIES = ['block', 'credits', 'overage'] as const;
export type LimitPolicy = (typeof LIMIT_POLICIES)[number];
/** `billing` follows the subscription's billing period; `none` never resets. */
export const USAGE_PERIODS = ['billing', 'hour', 'day', 'week', 'month', 'year', 'none'] as const;
export type UsagePeriod = (typeof USAGE_PERIODS)[number];

@Entity({ name: 'plan_features' })
export class PlanFeature {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  // Named by string so the two entities do not import each other's values (no cycle).
  @ManyToOne('Plan', 'features')
  @JoinColumn({ name: 'plan_id' })
  plan!: Plan;

  @Column('text', { name: 'feature_key' })
  featureKey!: string;

  @Column('text')
  kind!: FeatureKind;

  @Column('text', { name: 'meter_key', nullable: true })
  meterKey!: string | null;

  @Column('bigint', { name: 'included_units', transformer: bigintToNumber })
  includedUnits!: number;

  @Column('text', { name: 'limit_policy' })
  limitPolicy!: LimitPolicy;

  /** Credits drawn per unit beyond the included units (policy `credits`). */
  @Column('bigint', { name: 'unit_price', transformer: bigintToNumber })
  unitPrice!: number;

  /** The window in which the included units are counted. */
  @Column('text', { name: 'usage_period' })
  usagePeriod!: UsagePeriod;

  /** Allowed requests carry a warning once this share of the included units is used. */
  @Column('int', { name: 'soft_limit_percent', nullable: true })
  softLimitPercent!: number | null;

  /** Requests per window (→ 429), enforced by the gateway. */
  @Column('int', { name: 'rate_limit_requests', nullable: true })
  rateLimitRequests!: number | null;

  @Column('int', { name: 'rate_limit_window_seconds', nullable: true })
  rateLimitWindowSeconds!: number | null;
}
