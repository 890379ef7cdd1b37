import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import type { FieldProblem } from '@paygate/problem-details';
import { inputProblem } from './body-parsers';

const MAX_LISTED = 20;

/** Bodies typed as these are free-form (e.g. `@Body() body: unknown`): not a DTO. */
const FREE_FORM: unknown[] = [Object, Array, String, Number, Boolean];

/** The paths of every `null` in a value (already bounded in depth by the body parser). */
export function nullFields(value: unknown, path = '', found: FieldProblem[] = []): FieldProblem[] {
  if (found.length >= MAX_LISTED) return found;
  if (value === null) {
    found.push({ field: path || 'body', messages: ['must not be null; leave the field out'] });
    return found;
  }
  if (typeof value !== 'object') return found;
  for (const [key, child] of Object.entries(value)) {
    nullFields(child, path ? `${path}.${key}` : key, found);
  }
  return found;
}

/**
 * Runs before the validation pipe on every body bound to a DTO class: the body must be a
 * JSON object, and no field of it may be `null`. class-validator's @IsOptional lets `null`
 * through, so without this a `null` reached the database (a NOT NULL violation, a 500) or
 * cleared a field silently. A field is left out to keep its value or default.
 */
@Injectable()
export class NullFieldsPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' || !metadata.metatype || FREE_FORM.includes(metadata.metatype))
      return value;
    // No body at all: the validation pipe decides (a DTO of optional fields accepts it).
    if (value === undefined) return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw inputProblem([{ field: 'body', messages: ['must be a JSON object'] }]);
    }
    const nulls = nullFields(value);
    if (nulls.length > 0) throw inputProblem(nulls);
    return value;
  }
}
