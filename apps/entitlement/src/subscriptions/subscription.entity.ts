import type { BillingInterval } from './billing-period';
import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

export const SUBSCRIPTION_STATUSES = [
  'trialing',
  'active',
  // The first payment (or a payment needing the customer's action) is being processed.
  'incomplete',
  'past_due',
  'unpaid',
  'suspended',
  'canceled',
  'expired',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * Statuses of a subscription that has ended. Every other status makes the subscription its
 * customer's live one, of which a customer has at most one (a unique index, see the
 * OneLiveSubscription migration, which spells the same list).
 */
export const ENDED_STATUSES: readonly SubscriptionStatus[] = ['canceled', 'expired'];

@Entity({ name: 'subscriptions' })
export class Subscription {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'customer_id' })
  customerId!: string;

  @Column('uuid', { name: 'plan_id' })
  planId!: string;

  @Column('text')
  status!: SubscriptionStatus;

  @Column('timestamptz', { name: 'current_period_start' })
  currentPeriodStart!: Date;

  @Column('timestamptz', { name: 'current_period_end' })
  currentPeriodEnd!: Date;

  @Column('text', { name: 'billing_interval' })
  billingInterval!: BillingInterval;

  /** Periods are counted from here, so month ends do not drift. */
  @Column('timestamptz', { name: 'billing_anchor' })
  billingAnchor!: Date;

  @Column('boolean', { name: 'cancel_at_period_end' })
  cancelAtPeriodEnd!: boolean;

  /** A plan change that takes effect when the current period ends (a downgrade). */
  @Column('uuid', { name: 'pending_plan_id', nullable: true })
  pendingPlanId!: string | null;

  @Column('timestamptz', { name: 'past_due_since', nullable: true })
  pastDueSince!: Date | null;

  /** How long a past_due subscription keeps access (with a warning) before 402s start. */
  @Column('int', { name: 'grace_period_seconds' })
  gracePeriodSeconds!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
