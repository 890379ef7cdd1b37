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

  /** Units one request costs. */
  @IsInt()
  @Min(0)
  cost!: number;

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
