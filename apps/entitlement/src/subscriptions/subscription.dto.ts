import { IsInDateInputRange, IsRfc3339DateTime } from '@paygate/http';
import { IsBoolean, IsIn, IsInt, IsOptional, IsUUID, Max, Min, ValidateIf } from 'class-validator';
import { BILLING_INTERVALS, BillingInterval } from './billing-period';
import { SUBSCRIPTION_STATUSES, SubscriptionStatus } from './subscription.entity';

export class CreateSubscriptionDto {
  @IsUUID()
  planId!: string;

  @IsOptional()
  @IsIn(SUBSCRIPTION_STATUSES)
  status?: SubscriptionStatus;

  @IsOptional()
  @IsIn(BILLING_INTERVALS)
  billingInterval?: BillingInterval;

  /**
   * Start of the first period (and the billing anchor); default now.
   * From 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.
   */
  @IsOptional()
  @IsRfc3339DateTime()
  @IsInDateInputRange()
  currentPeriodStart?: string;

  /**
   * End of the first period (e.g. a trial's end); default one interval after the start.
   * From 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.
   */
  @IsOptional()
  @IsRfc3339DateTime()
  @IsInDateInputRange()
  currentPeriodEnd?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(365 * 24 * 3600)
  gracePeriodSeconds?: number;
}

export const PLAN_CHANGE_TIMING = ['now', 'period_end'] as const;
export type PlanChangeTiming = (typeof PLAN_CHANGE_TIMING)[number];

export class UpdateSubscriptionDto {
  @IsOptional()
  @IsIn(SUBSCRIPTION_STATUSES)
  status?: SubscriptionStatus;

  /** Cancel when the current period ends (true), or undo that (false). */
  @IsOptional()
  @IsBoolean()
  cancelAtPeriodEnd?: boolean;

  @IsOptional()
  @IsUUID()
  planId?: string;

  /** An upgrade usually takes effect now, a downgrade at the end of the period. */
  @ValidateIf((dto: UpdateSubscriptionDto) => dto.planId !== undefined)
  @IsIn(PLAN_CHANGE_TIMING)
  planChange?: PlanChangeTiming;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(365 * 24 * 3600)
  gracePeriodSeconds?: number;
}
