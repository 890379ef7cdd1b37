import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Min,
  ValidateNested,
} from 'class-validator';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * A request's cost from the request itself: a header naming the units (`header`), or one unit
 * per started `perBodyBytes` of the body (Content-Length required). `cost` is the minimum and
 * the header's default; `max` caps what one request may reserve.
 */
export class CostRule {
  @IsOptional()
  @Matches(/^[a-z0-9-]{1,64}$/i)
  header?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  perBodyBytes?: number;

  @IsInt()
  @Min(1)
  max!: number;
}

export class RouteDefinition {
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/)
  name!: string;

  /** Requests whose path starts with this prefix (on a segment boundary) use this route. */
  @Matches(/^\/[^?#]*$/)
  pathPrefix!: string;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  upstream!: string;

  /** Remove pathPrefix before forwarding (/api/x → upstream/x). */
  @IsOptional()
  @IsBoolean()
  stripPrefix?: boolean;

  /** Plan feature that admits the request. */
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/)
  feature!: string;

  /** Units one request costs (the minimum, when costFrom is set). */
  @IsInt()
  @Min(0)
  cost!: number;

  @IsOptional()
  @ValidateNested()
  @Type(() => CostRule)
  costFrom?: CostRule;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  scopes?: string[];

  /** Host names this route serves (Host header, port ignored); `*.example.com` for subdomains. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i, {
    each: true,
  })
  hosts?: string[];

  /**
   * When the entitlement service cannot answer: `closed` (default) answers 503
   * entitlement-unavailable; `open` keeps admitting keys it admitted lately, within a bounded
   * number of units that are charged once the service is back (README, failure policy).
   */
  @IsOptional()
  @IsIn(['closed', 'open'])
  failurePolicy?: 'closed' | 'open';

  /**
   * Meter (and charge) requests the upstream answered with a 5xx too. Off by default: a
   * failed upstream did not serve the customer. Connection errors and timeouts are never
   * metered (no answer reached the caller).
   */
  @IsOptional()
  @IsBoolean()
  meterUpstreamErrors?: boolean;

  /** HTTP methods this route serves; all when absent. */
  @IsOptional()
  @IsArray()
  @IsIn(HTTP_METHODS, { each: true })
  methods?: string[];
}

export class RouteTable {
  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => RouteDefinition)
  routes!: RouteDefinition[];
}
