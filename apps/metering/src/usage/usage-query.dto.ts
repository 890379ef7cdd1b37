import { IsDateString, IsOptional, IsString, Length } from 'class-validator';

export class UsageQueryDto {
  @IsString()
  @Length(1, 256)
  customerId!: string;

  @IsString()
  @Length(1, 64)
  meterKey!: string;

  @IsOptional()
  @IsDateString({ strict: true })
  from?: string;

  @IsOptional()
  @IsDateString({ strict: true })
  to?: string;
}
