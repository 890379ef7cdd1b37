import {
  ArrayMaxSize,
  IsArray,
  IsDateString,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';

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
  @IsDateString({ strict: true })
  expiresAt?: string;
}
