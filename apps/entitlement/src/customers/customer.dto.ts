import { PageQueryDto } from '@paygate/http';
import { IsBoolean, IsEmail, IsOptional, IsString, IsUUID, Length } from 'class-validator';

export class CreateCustomerDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @IsOptional()
  @IsEmail()
  email?: string;
}

export class UpdateCustomerDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;

  @IsOptional()
  @IsEmail()
  email?: string;

  /** Blocks (true) or unblocks (false) every request of the customer: 403 forbidden. */
  @IsOptional()
  @IsBoolean()
  blocked?: boolean;
}

export class ListCustomersDto extends PageQueryDto {
  /** The last id of the previous page. */
  @IsOptional()
  @IsUUID()
  after?: string;
}
