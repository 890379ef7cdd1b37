import { IsEmail, IsOptional, IsString, Length } from 'class-validator';

export class CreateCustomerDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @IsOptional()
  @IsEmail()
  email?: string;
}
