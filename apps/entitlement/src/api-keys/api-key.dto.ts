import {
  EXPIRY_INPUT_RANGE,
  IsDisplayText,
  IsInDateInputRange,
  IsRfc3339DateTime,
} from '@paygate/http';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, Matches } from 'class-validator';

export class CreateApiKeyDto {
  @IsOptional()
  @IsString()
  @Length(1, 100)
  @IsDisplayText()
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(/^[a-z0-9:._-]{1,64}$/, { each: true })
  scopes?: string[];

  /**
   * When the key stops working (in the future); never by default.
   * From 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
   */
  @IsOptional()
  @IsRfc3339DateTime()
  @IsInDateInputRange(EXPIRY_INPUT_RANGE)
  expiresAt?: string;
}
