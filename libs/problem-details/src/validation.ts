import { ValidationError, ValidationPipe } from '@nestjs/common';
import { ProblemException } from './problem';

export interface FieldProblem {
  field: string;
  messages: string[];
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    // A member named "" (`{"": 1}`, `?=1`) is still a field: named as the body it is in.
    const field = parent ? `${parent}.${error.property}` : error.property || 'body';
    const own = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/** Global pipe: strict DTOs, and a 400 problem listing every failing field. */
export function problemValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new ProblemException({
        code: 'validation-failed',
        extensions: { errors: flattenValidationErrors(errors) },
      }),
  });
}
