import { DomainError } from '@paygate/problem-details';

/**
 * The DomainError a promise was refused with; the test fails when the promise resolves or
 * fails with anything else.
 */
export async function domainRefusal(promise: Promise<unknown>): Promise<DomainError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}
