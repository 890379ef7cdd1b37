import { ProblemException } from '@paygate/problem-details';
import { plainToInstance } from 'class-transformer';
import { IsInt, validateSync } from 'class-validator';
import { IntegerText, UuidParam } from './input-fields';

class Query {
  @IntegerText()
  @IsInt()
  limit!: number;
}

const read = (limit: unknown) => {
  const query = plainToInstance(Query, { limit });
  return { limit: query.limit, errors: validateSync(query).map((e) => e.property) };
};

describe('IntegerText', () => {
  it('reads decimal digits as the integer they write', () => {
    expect(read('25')).toEqual({ limit: 25, errors: [] });
    expect(read('-3')).toEqual({ limit: -3, errors: [] });
    expect(read('007')).toEqual({ limit: 7, errors: [] });
  });

  it('leaves any other text as text, which @IsInt refuses naming the field', () => {
    for (const text of ['1e2', '0x10', '0b11', '0o7', ' 5 ', '', '5.0', '+5', 'Infinity', '1_000'])
      expect(read(text)).toEqual({ limit: text, errors: ['limit'] });
  });
});

describe('UuidParam', () => {
  const pipe = new UuidParam();
  const id = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

  it('passes a UUID', () => {
    expect(pipe.transform(id, { type: 'param', data: 'customerId' })).toBe(id);
  });

  it('refuses anything else with errors naming the parameter, not echoing the value', () => {
    for (const value of ['x'.repeat(3000), `${id}0`, '', '..', undefined]) {
      let thrown: unknown;
      try {
        pipe.transform(value, { type: 'param', data: 'customerId' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ProblemException);
      const { code, extensions } = (thrown as ProblemException).problem;
      expect(code).toBe('validation-failed');
      expect(extensions).toEqual({
        errors: [{ field: 'customerId', messages: ['customerId must be a UUID'] }],
      });
    }
  });
});
