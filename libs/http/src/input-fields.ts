import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { isUUID } from 'class-validator';
import { inputProblem } from './body-parsers';

/** Decimal digits, with a sign at most: what a caller writes for an integer. */
const DECIMAL_INTEGER = /^-?\d+$/;

/**
 * A query or form field that holds an integer, written in decimal digits. `@Type(() => Number)`
 * read `1e2` as 100, `0x10` as 16, `0b11` as 3 and ` 5 ` or an empty value as 5 or 0: numbers
 * the caller did not write. Anything but digits stays text, which `@IsInt()` then refuses,
 * naming the field (a 400 with `errors`).
 */
export function IntegerText(): PropertyDecorator {
  return Transform(({ value }) =>
    typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : value,
  );
}

/**
 * A path parameter that must be a UUID (class-validator's isUUID: versions 1 to 8, nil, max):
 * else a 400 `validation-failed` whose `errors` name the parameter, like a body field's
 * (Nest's ParseUUIDPipe said only "Validation failed (uuid is expected)", with no field).
 * The value is not echoed.
 */
@Injectable()
export class UuidParam implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && isUUID(value)) return value;
    const field = metadata.data || 'id';
    throw inputProblem([{ field, messages: [`${field} must be a UUID`] }]);
  }
}
