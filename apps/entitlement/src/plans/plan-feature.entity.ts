import { bigintToNumber } from '@paygate/database';
import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { Plan } from './plan.entity';

export const FEATURE_KINDS = ['boolean', 'metered'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];
export const LIMIT_POLICIES = ['block', 'credits', 'overage'] as const;
export type LimitPolicy = (typeof LIMIT_POLICIES)[number];

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
}
