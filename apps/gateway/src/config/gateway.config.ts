import { ServiceConfig } from '@paygate/config';
import { IsInt, IsString, Max, Min } from 'class-validator';

// Explicit property types: decorator metadata needs them to convert env strings.
export class GatewayConfig extends ServiceConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 8080;

  /** host:port of the entitlement service's gRPC endpoint. */
  @IsString()
  ENTITLEMENT_GRPC_URL: string = '127.0.0.1:50051';

  /** Deadline of one decision call; past it the route's failure policy answers (503). */
  @IsInt()
  @Min(10)
  DECISION_TIMEOUT_MS: number = 2000;

  /** Route table, JSON or YAML (.yaml/.yml); reloaded when it changes or on SIGHUP. */
  @IsString()
  ROUTES_FILE: string = 'config/routes.json';

  /** How often the route file is checked for changes. */
  @IsInt()
  @Min(100)
  ROUTES_POLL_MS: number = 1000;

  @IsInt()
  @Min(1)
  BODY_LIMIT_BYTES: number = 10 * 1024 * 1024;

  @IsInt()
  @Min(10)
  UPSTREAM_TIMEOUT_MS: number = 30_000;

  /**
   * Usage events kept in memory while Kafka does not take them. When full, metered requests
   * are refused (503) instead of served unmetered: back-pressure, never a silent drop.
   */
  @IsInt()
  @Min(100)
  USAGE_BUFFER_MAX: number = 100_000;

  /** CloudEvents `source` of the usage events this gateway publishes. */
  @IsString()
  USAGE_EVENT_SOURCE: string = 'paygate-gateway';
}
