import { IsDateString, IsIn, IsOptional, IsUUID } from 'class-validator';
import { SUBSCRIPTION_STATUSES, SubscriptionStatus } from './subscription.entity';

export class CreateSubscriptionDto {
  @IsUUID()
  planId!: string;

  @IsOptional()
  @IsIn(SUBSCRIPTION_STATUSES)
  status?: SubscriptionStatus;

  @IsOptional()
  @IsDateString({ strict: true })
  currentPeriodStart?: string;

  @IsOptional()
  @IsDateString({ strict: true })
  currentPeriodEnd?: string;
}

export class UpdateSubscriptionDto {
  @IsIn(SUBSCRIPTION_STATUSES)
  status!: SubscriptionStatus;
}
