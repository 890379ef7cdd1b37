import { IsDisplayText } from '@paygate/http';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  ValidateBy,
  ValidationOptions,
  buildMessage,
} from 'class-validator';
import { AGGREGATIONS, Aggregation, JSON_PATH } from './meter';

const GROUP_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_GROUPS = 8;

/** `{ name: "$.path" }` with at most eight lowercase names. */
function IsGroupBy(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isGroupBy',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length <= MAX_GROUPS &&
          Object.entries(value).every(
            ([name, path]) =>
              GROUP_NAME.test(name) && typeof path === 'string' && JSON_PATH.test(path),
          ),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must map up to ${MAX_GROUPS} lowercase names to JSON paths like "$.region"`,
          options,
        ),
      },
    },
    options,
  );
}

const PATH_MESSAGE = 'must be a JSON path into the event data, like "$.tokens.total"';

export class CreateMeterDto {
  /** Stable name that plans and usage queries refer to. */
  @Matches(/^[a-z][a-z0-9_]{0,63}$/, {
    message: 'key must be lowercase letters, digits and underscores, starting with a letter',
  })
  key!: string;

  /** CloudEvents `type` this meter reads. */
  @IsString()
  @Length(1, 256)
  @IsDisplayText()
  eventType!: string;

  @IsIn(AGGREGATIONS)
  aggregation!: Aggregation;

  /** Where the value is, in the event's data; required for every aggregation but count. */
  @IsOptional()
  @Matches(JSON_PATH, { message: `valuePath ${PATH_MESSAGE}` })
  valuePath?: string;

  /** Group name → JSON path; each combination of values gets its own usage rows. */
  @IsOptional()
  @IsGroupBy()
  groupBy?: Record<string, string>;

  @IsOptional()
  @IsString()
  @Length(0, 500)
  @IsDisplayText('lines')
  description?: string;
}

/**
 * The aggregation cannot change: stored rollups were made with it. A new meter key is the way
 * to aggregate differently.
 */
export class UpdateMeterDto {
  @IsOptional()
  @IsString()
  @Length(1, 256)
  @IsDisplayText()
  eventType?: string;

  @IsOptional()
  @Matches(JSON_PATH, { message: `valuePath ${PATH_MESSAGE}` })
  valuePath?: string;

  @IsOptional()
  @IsGroupBy()
  groupBy?: Record<string, string>;

  @IsOptional()
  @IsString()
  @Length(0, 500)
  @IsDisplayText('lines')
  description?: string;
}

export class ListMetersDto {
  // `true` or `false`; anything else (`TRUE`, `1`, the parameter twice) is a 400 naming it,
  // not read as false.
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'includeArchived must be true or false' })
  includeArchived?: boolean;
}
