import { DatabaseServiceConfig, csv } from '@paygate/config';
import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

// Explicit property types: decorator metadata needs them to convert env strings.
export class EntitlementConfig extends DatabaseServiceConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 3001;

  /** host:port the gRPC decision service listens on. */
  @IsString()
  GRPC_URL: string = '127.0.0.1:50051';

  /** Where a 402's `link` sends the customer; {customerId} is replaced. */
  @IsString()
  BILLING_PORTAL_URL_TEMPLATE: string = 'http://127.0.0.1:3001/billing/{customerId}';

  @IsString()
  USAGE_RECORDED_GROUP_ID: string = 'paygate-entitlement';

  /** Signing secret of the Stripe webhook endpoint (whsec_...); unset disables /v1/webhooks/stripe. */
  @IsOptional()
  @IsString()
  STRIPE_WEBHOOK_SECRET?: string;

  @IsOptional()
  @IsString()
  STRIPE_SECRET_KEY?: string;

  /** Operator URL that receives signed threshold alerts; unset disables alerts. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  ALERT_WEBHOOK_URL?: string;

  /** HMAC key of the Paygate-Signature header; required with ALERT_WEBHOOK_URL. */
  @ValidateIf((c: EntitlementConfig) => c.ALERT_WEBHOOK_URL !== undefined)
  @IsString()
  @MinLength(16)
  ALERT_WEBHOOK_SECRET?: string;

  /** Shares of a feature's included units that raise a usage.threshold alert. */
  @Transform(({ value }) => csv(value).map(Number))
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(100, { each: true })
  ALERT_USAGE_PERCENTS: number[] = [80, 100];

  /** A balance.low alert when a customer's credits fall to or below this. */
  @IsOptional()
  @IsInt()
  @Min(0)
  ALERT_LOW_BALANCE?: number;

  /**
   * A lease still held this long after its decision is released (its gateway crashed, or
   * gave up waiting for the decision). Longer than any request plus the usage pipeline's
   * normal delay; usage that arrives later is still charged, as ordinary usage.
   */
  @IsInt()
  @Min(60)
  LEASE_TTL_SECONDS: number = 900;
}
