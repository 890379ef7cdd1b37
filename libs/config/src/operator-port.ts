import {
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';

/**
 * OPERATOR_HTTP_PORT (a service's listener of its own for its operator API) is neither the
 * public port nor the admin listener's: sharing either would put the API back where the
 * setting is meant to take it from.
 */
@ValidatorConstraint({ name: 'operatorPortApart' })
export class OperatorPortApart implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const config = args.object as { HTTP_PORT?: number; ADMIN_HTTP_PORT?: number };
    const admin = config.ADMIN_HTTP_PORT ?? (config.HTTP_PORT ?? 0) + 1000;
    return value !== config.HTTP_PORT && value !== admin;
  }

  defaultMessage(): string {
    return 'OPERATOR_HTTP_PORT must differ from HTTP_PORT and from the admin listener (ADMIN_HTTP_PORT, default HTTP_PORT + 1000)';
  }
}
