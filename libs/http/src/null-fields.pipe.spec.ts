import { ProblemException } from '@paygate/problem-details';
import { NullFieldsPipe } from './null-fields.pipe';

class SomeDto {
  name?: string;
}

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
});
