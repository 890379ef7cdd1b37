import { NullFieldsPipe } from '@paygate/http';
import { ProblemException, problemValidationPipe } from '@paygate/problem-details';
import { CreateCustomerDto, UpdateCustomerDto } from './customer.dto';

/** What a customer body becomes through the two global pipes, in their order: DTO or errors. */
async function piped(metatype: new () => object, body: Record<string, unknown>) {
  const metadata = { type: 'body' as const, metatype };
  try {
    return await problemValidationPipe().transform(
      new NullFieldsPipe().transform(body, metadata),
      metadata,
    );
  } catch (err) {
    return (err as ProblemException).problem.extensions?.errors;
  }
}

describe('customer bodies', () => {
  it('a PATCH clears email and stripeCustomerId with null', async () => {
    expect(await piped(UpdateCustomerDto, { email: null, stripeCustomerId: null })).toEqual({
      email: null,
      stripeCustomerId: null,
    });
  });

  it('an empty string is not a way to clear them: 400 naming the field', async () => {
    expect(await piped(UpdateCustomerDto, { email: '', stripeCustomerId: '' })).toEqual([
      { field: 'email', messages: expect.any(Array) },
      { field: 'stripeCustomerId', messages: expect.any(Array) },
    ]);
  });

  it('null stays refused where nothing is cleared: name, blocked, and a new customer', async () => {
    const refused = [{ field: 'name', messages: ['must not be null; leave the field out'] }];
    expect(await piped(UpdateCustomerDto, { name: null })).toEqual(refused);
    expect(await piped(UpdateCustomerDto, { blocked: null })).toEqual([
      { field: 'blocked', messages: ['must not be null; leave the field out'] },
    ]);
    expect(await piped(CreateCustomerDto, { name: 'Acme', email: null })).toEqual([
      { field: 'email', messages: ['must not be null; leave the field out'] },
    ]);
  });
});
