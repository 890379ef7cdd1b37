import { IsDisplayText, NullClears, PageQueryDto } from '@paygate/http';
import { IsBoolean, IsEmail, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';

export class CreateCustomerDto {
  @IsString()
  @Length(1, 200)
  @IsDisplayText()
  name!: string;

  @IsOptional()
  @IsEmail()
  @IsDisplayText()
  email?: string;
}

export class UpdateCustomerDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @IsDisplayText()
  name?: string;

  /** `null` clears it (an empty string is not an email: 400). */
  @IsOptional()
  @NullClears()
  @IsEmail()
  @IsDisplayText()
  email?: string | null;

  /** Blocks (true) or unblocks (false) every request of the customer: 403 forbidden. */
  @IsOptional()
  @IsBoolean()
  blocked?: boolean;

  /**
   * The customer's id at Stripe, for the billing page's Stripe customer portal. `null` clears
   * it (the next Stripe invoice event may set it again).
   */
  @IsOptional()
  @NullClears()
  @Matches(/^cus_[A-Za-z0-9]{1,255}$/)
  stripeCustomerId?: string | null;
}

export class ListCustomersDto extends PageQueryDto {
  /** The last id of the previous page. */
  @IsOptional()
  @IsUUID()
  after?: string;
}
