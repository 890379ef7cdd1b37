import { canonicalCustomerId } from './customer-id';
import { validateUsageEvent } from './usage-event';

const ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

describe('canonicalCustomerId', () => {
  it('reads every spelling Postgres takes for the same UUID as the lower-case hyphenated one', () => {
    for (const spelling of [
      ID,
      ID.toUpperCase(),
      `{${ID}}`,
      ID.replace(/-/g, ''),
      `urn:uuid:${ID}`,
      'URN:UUID:7C9E6679-7425-40DE-944B-E07FC1F90AE7',
    ])
      expect([spelling, canonicalCustomerId(spelling)]).toEqual([spelling, ID]);
  });

  it('names no customer otherwise', () => {
    for (const subject of [
      'c1',
      `customer-${ID}`,
      ` ${ID}`,
      `${ID} `,
      `{${ID}`,
      `${ID}}`,
      '7c9e6679-742540de-944b-e07fc1f90ae7',
      `${ID}0`,
      ID.replace('7', 'g'),
      '',
    ])
      expect([subject, canonicalCustomerId(subject)]).toEqual([subject, undefined]);
  });
});

describe("a usage event's subject", () => {
  const event = (subject: unknown) => ({
    specversion: '1.0',
    id: 'e1',
    source: 's',
    type: 't',
    subject,
    time: '2026-12-07T10:00:00Z',
    data: { units: 1 },
  });

  it('is read as the customer in canonical form, whatever its spelling', () => {
    const parsed = validateUsageEvent(event(ID.toUpperCase()));
    expect(parsed).toMatchObject({ ok: true, event: { subject: ID } });
  });

  it('that is not a customer id is refused, naming it: its usage could never be charged', () => {
    for (const subject of ['acme-corp', ` ${ID}`]) {
      const parsed = validateUsageEvent(event(subject));
      expect(parsed).toEqual({
        ok: false,
        reason: 'invalid',
        errors: [
          {
            field: 'subject',
            message:
              'subject must be the customer id, a UUID like 7c9e6679-7425-40de-944b-e07fc1f90ae7',
          },
        ],
      });
    }
    // One reason at a time: an empty or over-long subject is told that, not this.
    const empty = validateUsageEvent(event(''));
    expect(!empty.ok && empty.errors).toEqual([
      { field: 'subject', message: 'subject must be a non-empty string' },
    ]);
  });
});
