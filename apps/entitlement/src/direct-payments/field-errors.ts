import { DomainError } from '@paygate/problem-details';

/**
 * Collects every bad field of an input, then refuses them at once: a `validation-failed`
 * DomainError (gRPC INVALID_ARGUMENT) naming each in its message and in
 * `errors: [{ field, messages }]`, the shape HTTP validation answers with.
 */
export class FieldErrors {
  private readonly errors: { field: string; messages: string[] }[] = [];

  readonly fail = (field: string, message: string): void => {
    this.errors.push({ field, messages: [message] });
  };

  /** @throws DomainError `validation-failed` if any field failed, e.g. "Invalid payment: …". */
  throwIfAny(subject: string): void {
    if (this.errors.length === 0) return;
    throw new DomainError(
      'validation-failed',
      `Invalid ${subject}: ${this.errors.map((e) => `${e.field} ${e.messages[0]}`).join('; ')}.`,
      { errors: this.errors },
    );
  }
}
