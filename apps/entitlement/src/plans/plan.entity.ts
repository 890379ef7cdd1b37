import { bigintToNumber } from '@paygate/database';
import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
} from 'typeorm';
import type { FeatureKind, LimitPolicy, UsagePeriod } from './plan-terms';

// A plan and its features are one aggregate, in one file: the two entities name each other.

/** Plans are versioned: a change creates a new version, subscriptions keep theirs. */
@Entity({ name: 'plans' })
export class Plan {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  key!: string;

  @Column('int')
  version!: number;

  @Column('text')
  name!: string;

  @OneToMany(() => PlanFeature, (f) => f.plan, { cascade: ['insert'], eager: true })
  features!: PlanFeature[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'plan_features' })
export class PlanFeature {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @ManyToOne(() => Plan, (p) => p.features)
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

  /** Requests in flight at once, across every gateway (→ 429), enforced by the gateway. */
  @Column('int', { name: 'concurrency_limit', nullable: true })
  concurrencyLimit!: number | null;
}
