import type { CheckResponse } from '@paygate/contracts';
import { warningHeader } from './decision-warnings';

const allowed = (warnings?: CheckResponse['warnings']): CheckResponse =>
  ({ allowed: true, customerId: 'c', warnings }) as CheckResponse;

describe('warningHeader', () => {
  it('is absent without warnings', () => {
    expect(warningHeader(allowed())).toBeUndefined();
    expect(warningHeader(allowed([]))).toBeUndefined();
  });

  it('gives each warning its code and the numbers it has, in one field', () => {
    expect(
      warningHeader(
        allowed([
          { code: 'subscription-past-due', until: '2026-12-01T00:00:00.000Z' },
          { code: 'soft-limit-reached', used: 80, limit: 100, until: '2026-12-31T00:00:00.000Z' },
        ]),
      ),
    ).toBe(
      'subscription-past-due; until="2026-12-01T00:00:00.000Z", ' +
        'soft-limit-reached; used=80; limit=100; until="2026-12-31T00:00:00.000Z"',
    );
  });

  it('leaves out an empty until and keeps a zero', () => {
    expect(
      warningHeader(allowed([{ code: 'soft-limit-reached', used: 0, limit: 0, until: '' }])),
    ).toBe('soft-limit-reached; used=0; limit=0');
  });
});
