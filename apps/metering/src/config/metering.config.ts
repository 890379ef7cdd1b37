import { DatabaseServiceConfig } from '@paygate/config';
import { IsInt, IsString, Max, Min } from 'class-validator';

// Explicit property types: decorator metadata needs them to convert env strings.
export class MeteringConfig extends DatabaseServiceConfig {
  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 3002;

  @IsString()
  USAGE_GROUP_ID: string = 'paygate-metering';

  /** How often meter definitions are reloaded from the database. */
  @IsInt()
  @Min(100)
  METER_REFRESH_MS: number = 5000;
}
