import { ProblemException, problemValidationPipe } from '@paygate/problem-details';
import { IsEmail, IsOptional } from 'class-validator';
import { NullClears, NullFieldsPipe } from './null-fields.pipe';

class SomeDto {
  name?: string;
}

class ClearingDto {
  @IsOptional()
  name?: string;

  @IsOptional()
  @NullClears()
  @IsEmail()
  email?: string | null;

  @IsOptional()
  nested?: { email?: string | null };
}

class ExtendingDto extends ClearingDto {}

describe('NullFieldsPipe', () => {
  const pipe = new NullFieldsPipe();
  const body = { type: 'body' as const, metatype: SomeDto };
  const errorsOf = (value: unknown, metadata = body) => {
    try {
      pipe.transform(value, metadata);
      return undefined;
    } catch (err) {
      return ((err as ProblemException).problem.extensions as { errors: unknown }).errors;
    }
  };

  it('lists every null field of a DTO body by its path', () => {
    expect(errorsOf({ name: null, features: [{ units: null }], ok: 1 })).toEqual([
      { field: 'name', messages: ['must not be null; leave the field out'] },
      { field: 'features.0.units', messages: ['must not be null; leave the field out'] },
    ]);
  });

  it('wants a JSON object as a DTO body', () => {
    for (const value of [null, [], 'x', 3, true]) {
      expect(errorsOf(value)).toEqual([{ field: 'body', messages: ['must be a JSON object'] }]);
    }
  });

  it('leaves free-form bodies, missing bodies, queries and params alone', () => {
    expect(errorsOf({ data: null }, { type: 'body', metatype: Object })).toBeUndefined();
    expect(errorsOf(undefined)).toBeUndefined();
    expect(errorsOf({ a: null }, { type: 'query' as 'body', metatype: SomeDto })).toBeUndefined();
    expect(errorsOf({ name: 'x' })).toBeUndefined();
  });

  describe('@NullClears', () => {
    const clearing = { type: 'body' as const, metatype: ClearingDto };

    it('lets null through for the members that declare it, and for no other', () => {
      expect(errorsOf({ email: null }, clearing)).toBeUndefined();
      expect(errorsOf({ email: null }, { type: 'body', metatype: ExtendingDto })).toBeUndefined();
      expect(errorsOf({ email: null, name: null }, clearing)).toEqual([
        { field: 'name', messages: ['must not be null; leave the field out'] },
      ]);
      // Only the body's own member: the same name deeper down is another field.
      expect(errorsOf({ nested: { email: null } }, clearing)).toEqual([
        { field: 'nested.email', messages: ['must not be null; leave the field out'] },
      ]);
      expect(errorsOf({ email: null })).toEqual([
        { field: 'email', messages: ['must not be null; leave the field out'] },
      ]);
    });

    it("skips the member's rules for null only: any other value is validated", async () => {
      const validated = (value: unknown) =>
        problemValidationPipe()
          .transform(value, clearing)
          .then(
            (dto: ClearingDto) => dto,
            (e: unknown) => (e as ProblemException).problem.extensions,
          );
      expect(await validated({ email: null })).toEqual({ email: null });
      expect(await validated({ email: '' })).toEqual({
        errors: [{ field: 'email', messages: ['email must be an email'] }],
      });
      expect(await validated({ email: 'a@b.co' })).toEqual({ email: 'a@b.co' });
    });
  });
});
