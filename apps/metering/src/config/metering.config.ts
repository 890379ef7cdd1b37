import { csv } from '@paygate/config';
import { Transform } from 'class-transformer';
import { ArrayNotEmpty, IsIn, IsInt, IsString, Max, Min, MinLength } from 'class-validator';

// Explicit property types: decorator metadata needs them to convert env strings.
export class MeteringConfig {
  @IsString()
  DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/paygate';

  @Transform(({ value }) => csv(value))
  @ArrayNotEmpty()
  KAFKA_BROKERS: string[] = ['127.0.0.1:9092'];

  @IsString()
  HTTP_HOST: string = '127.0.0.1';

  @IsInt()
  @Min(1)
  @Max(65535)
  HTTP_PORT: number = 3002;

  /** Operators and services send it as "Authorization: Bearer <token>" to read usage. */
  @IsString()
  @MinLength(16)
  ADMIN_TOKEN!: string;

  @IsString()
  USAGE_GROUP_ID: string = 'paygate-metering';

  /** How often meter definitions are reloaded from the database. */
  @IsInt()
  @Min(100)
  METER_REFRESH_MS: number = 5000;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
  LOG_LEVEL: string = 'info';
}
