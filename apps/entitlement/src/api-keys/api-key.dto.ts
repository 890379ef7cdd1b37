import { IsRfc3339DateTime } from '@paygate/http';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, Matches } from 'class-validator';

export class CreateApiKeyDto {
  @IsOptional()
  @IsString()
  @Length(1, 100)
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(/^[a-z0-9:._-]{1,64}$/, { each: true })
  scopes?: string[];

  @IsOptional()
  @IsRfc3339DateTime()
  expiresAt?: string;
}
