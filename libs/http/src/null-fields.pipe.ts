import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import type { FieldProblem } from '@paygate/problem-details';
import { ValidateIf } from 'class-validator';
import { inputProblem } from './body-parsers';

const MAX_LISTED = 20;

/** Bodies typed as these are free-form (e.g. `@Body() body: unknown`): not a DTO. */
const FREE_FORM: unknown[] = [Object, Array, String, Number, Boolean];

/** The members each DTO class declares @NullClears, by class (its own, not its parents'). */
const CLEARABLE = new WeakMap<object, Set<string>>();

/**
 * A member of a body DTO (its top level) that takes `null` to clear its value, e.g. a PATCH
 * that removes a customer's email: NullFieldsPipe lets that `null` through, and the field's
 * other rules apply to every other value. Everywhere else `null` stays refused.
 */
export function NullClears(): PropertyDecorator {
  return (target, property) => {
    const names = CLEARABLE.get(target.constructor) ?? new Set<string>();
    CLEARABLE.set(target.constructor, names.add(String(property)));
    ValidateIf((_dto: unknown, value: unknown) => value !== null)(target, property);
  };
}

/** The members of a DTO class (and of the classes it extends) that @NullClears. */
function clearable(metatype: unknown): Set<string> {
  const names = new Set<string>();
  for (let type = metatype; typeof type === 'function'; type = Object.getPrototypeOf(type)) {
    for (const name of CLEARABLE.get(type) ?? []) names.add(name);
  }
  return names;
}

/**
 * The paths of every `null` in a value (already bounded in depth by the body parser), but for
 * the members of the top level named in `clears`.
 */
export function nullFields(
  value: unknown,
  path = '',
  found: FieldProblem[] = [],
  clears: ReadonlySet<string> = new Set(),
): FieldProblem[] {
  if (found.length >= MAX_LISTED) return found;
  if (value === null) {
    found.push({ field: path || 'body', messages: ['must not be null; leave the field out'] });
    return found;
  }
  if (typeof value !== 'object') return found;
  for (const [key, child] of Object.entries(value)) {
    if (!path && child === null && clears.has(key)) continue;
    nullFields(child, path ? `${path}.${key}` : key, found);
  }
  return found;
}

/**
 * Runs before the validation pipe on every body bound to a DTO class: the body must be a
 * JSON object, and no field of it may be `null`. class-validator's @IsOptional lets `null`
 * through, so without this a `null` reached the database (a NOT NULL violation, a 500) or
 * cleared a field silently. A field is left out to keep its value or default; only a member
 * declared @NullClears takes `null`, to clear it on purpose.
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
    const nulls = nullFields(value, '', [], clearable(metadata.metatype));
    if (nulls.length > 0) throw inputProblem(nulls);
    return value;
  }
}
