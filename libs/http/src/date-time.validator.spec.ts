import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  DATE_INPUT_RANGE,
  EXPIRY_INPUT_RANGE,
  IsInDateInputRange,
  IsNotBefore,
  IsRfc3339DateTime,
  isInDateInputRange,
  isRfc3339DateTime,
} from './date-time.validator';

class Window {
  @IsRfc3339DateTime()
  from!: string;
}

describe('isRfc3339DateTime', () => {
  it('takes an RFC 3339 date-time with its offset', () => {
    for (const value of [
      '2026-01-31T12:00:00Z',
      '2026-01-31t12:00:00z',
      '2026-01-31T12:00:00.123456789+01:00',
      '2024-02-29T23:59:59-15:59',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
    ])
      expect([value, isRfc3339DateTime(value)]).toEqual([value, true]);
  });

  it('refuses what class-validator’s ISO 8601 check takes but JavaScript or Postgres refuse or misread', () => {
    for (const value of [
      '2024',
      '2024-01',
      '2024-W01-1',
      '20240101',
      '2024-366',
      '+9999-12-31T23:59:59Z',
      '-2026-01-01T00:00:00Z',
      '2024-01-01T00:00:00,5Z',
      '2024-01-01T00:00:00-23:59',
      '2024-01-01T10',
      // No offset: read in whatever zone the server or the session has.
      '2024-01-01T00:00:00',
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-12-31T24:00:00Z',
      '2024-06-30T23:59:60Z',
      '0000-01-01T00:00:00Z',
      ' 2024-01-01T00:00:00Z',
      20240101,
      null,
    ])
      expect([value, isRfc3339DateTime(value)]).toEqual([value, false]);
  });

  it('names the field when a DTO refuses it', () => {
    const [error] = validateSync(plainToInstance(Window, { from: '2024-W01-1' }));
    expect(error.property).toBe('from');
    expect(Object.values(error.constraints ?? {})).toEqual([
      'from must be an RFC 3339 date-time with an offset, like 2026-01-31T12:00:00Z',
    ]);
  });
});

class Span {
  @IsRfc3339DateTime()
  from?: string;

  @IsRfc3339DateTime()
  @IsNotBefore('from')
  to?: string;
}

describe('IsNotBefore', () => {
  const errors = (plain: object) =>
    validateSync(plainToInstance(Span, plain), { skipMissingProperties: true }).flatMap((e) =>
      Object.values(e.constraints ?? {}),
    );

  it('refuses an end before its start, across offsets', () => {
    expect(errors({ from: '2026-02-01T00:00:00Z', to: '2026-01-31T23:59:59Z' })).toEqual([
      'to must not be before from',
    ]);
    // 01:00+02:00 is 23:00Z the day before: before the start.
    expect(errors({ from: '2026-01-31T23:30:00Z', to: '2026-02-01T01:00:00+02:00' })).toEqual([
      'to must not be before from',
    ]);
  });

  it('takes an end at or after its start, or either one alone', () => {
    expect(errors({ from: '2026-01-31T00:00:00Z', to: '2026-01-31T00:00:00Z' })).toEqual([]);
    expect(errors({ from: '2026-01-31T00:00:00Z', to: '2026-01-31T00:00:00.001Z' })).toEqual([]);
    expect(errors({ to: '2026-01-31T00:00:00Z' })).toEqual([]);
    expect(errors({ from: '2026-01-31T00:00:00Z' })).toEqual([]);
  });
});

class Stored {
  @IsRfc3339DateTime()
  @IsInDateInputRange()
  expiresAt!: string;
}

class Expiring {
  @IsRfc3339DateTime()
  @IsInDateInputRange(EXPIRY_INPUT_RANGE)
  expiresAt!: string;
}

describe('IsInDateInputRange', () => {
  const messages = (expiresAt: unknown) =>
    validateSync(plainToInstance(Stored, { expiresAt })).flatMap((e) =>
      Object.values(e.constraints ?? {}),
    );

  it('takes 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z, both ends, across offsets', () => {
    expect(DATE_INPUT_RANGE).toEqual({ min: '1970-01-01T00:00:00Z', max: '9000-01-01T00:00:00Z' });
    for (const value of [
      '1970-01-01T00:00:00Z',
      '1970-01-01T01:00:00+01:00',
      '2026-01-31T12:00:00Z',
      '8999-12-31T23:59:59.999999999Z',
      '8999-12-31T23:00:00-01:00',
      '9000-01-01T00:00:00Z',
    ])
      expect([value, isInDateInputRange(value), messages(value)]).toEqual([value, true, []]);
  });

  it('refuses instants outside it, naming the field and the range', () => {
    for (const value of [
      '0001-01-01T00:00:00Z',
      '0050-01-15T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
      // 1970-01-01T00:30+01:00 is 23:30Z the day before.
      '1970-01-01T00:30:00+01:00',
      '9000-01-01T00:00:00.001Z',
      '9000-01-01T00:00:00-00:01',
      '9999-12-31T00:00:00Z',
      '9999-12-31T23:59:59-15:59',
    ]) {
      expect([value, isInDateInputRange(value)]).toEqual([value, false]);
      expect([value, messages(value)]).toEqual([
        value,
        ['expiresAt must be between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z'],
      ]);
    }
  });

  it('leaves what is not an RFC 3339 date-time to IsRfc3339DateTime: one reason at a time', () => {
    for (const value of ['+010000-01-31T00:00:00.000Z', '99999-01-01T00:00:00Z', 'soon', 7]) {
      expect([value, isInDateInputRange(value)]).toEqual([value, true]);
      expect([value, messages(value)]).toEqual([
        value,
        ['expiresAt must be an RFC 3339 date-time with an offset, like 2026-01-31T12:00:00Z'],
      ]);
    }
  });
});

describe('IsInDateInputRange(EXPIRY_INPUT_RANGE)', () => {
  const messages = (expiresAt: unknown) =>
    validateSync(plainToInstance(Expiring, { expiresAt })).flatMap((e) =>
      Object.values(e.constraints ?? {}),
    );

  it('takes an expiry to the end of 9999, what operators write for "never"', () => {
    expect(EXPIRY_INPUT_RANGE).toEqual({
      min: '1970-01-01T00:00:00Z',
      max: '9999-12-31T23:59:59.999Z',
    });
    for (const value of [
      '1970-01-01T00:00:00Z',
      '9000-01-01T00:00:00.001Z',
      '9999-12-31T00:00:00Z',
      '9999-12-31T23:59:59Z',
      // Read to the millisecond, as the Date it becomes: still 9999.
      '9999-12-31T23:59:59.999999999Z',
      '9999-12-31T23:59:59+15:59',
    ]) {
      expect([value, isInDateInputRange(value, EXPIRY_INPUT_RANGE), messages(value)]).toEqual([
        value,
        true,
        [],
      ]);
      // What is stored prints back in RFC 3339.
      expect(isRfc3339DateTime(new Date(value).toISOString())).toBe(true);
    }
  });

  it('refuses an instant in year 10000 (an offset behind UTC) or before 1970, naming the range', () => {
    for (const value of [
      '9999-12-31T23:59:59-00:01',
      '9999-12-31T23:30:00-15:59',
      '1969-12-31T23:59:59.999Z',
    ]) {
      expect([value, isInDateInputRange(value, EXPIRY_INPUT_RANGE)]).toEqual([value, false]);
      expect([value, messages(value)]).toEqual([
        value,
        ['expiresAt must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z'],
      ]);
    }
  });
});
