import { PROBLEM_CODES } from '@paygate/contracts';
import { buildProblem } from './problem';
import {
  PROBLEM_REGISTRY,
  problemStatus,
  setProblemStatuses,
  upperSnake,
} from './problem-registry';

describe('problem details', () => {
  it('defines every contract code with an HTTP error status', () => {
    for (const code of PROBLEM_CODES) {
      expect(PROBLEM_REGISTRY[code].status).toBeGreaterThanOrEqual(400);
      expect(PROBLEM_REGISTRY[code].title).not.toBe('');
    }
  });

  it('answers payment problems with 402 and the others as ARCHITECTURE §3 says', () => {
    const payment = PROBLEM_CODES.filter((c) => PROBLEM_REGISTRY[c].status === 402).sort();
    expect(payment).toEqual(
      [
        'account-suspended',
        'feature-not-in-plan',
        'insufficient-credits',
        // A payment sent with the request that could not be used (docs/payments.md).
        'payment-expired',
        'payment-invalid',
        'payment-pending',
        'payment-replayed',
        'payment-required',
        'payment-underpaid',
        'quota-exhausted',
        'subscription-expired',
        'subscription-past-due',
      ].sort(),
    );
    expect(PROBLEM_REGISTRY.unauthenticated.status).toBe(401);
    expect(PROBLEM_REGISTRY.forbidden.status).toBe(403);
    expect(PROBLEM_REGISTRY['rate-limited'].status).toBe(429);
  });

  it('builds an RFC 9457 body with the numbers filled into the detail', () => {
    const body = buildProblem(
      {
        code: 'insufficient-credits',
        extensions: { balance: 0, required: 1, link: 'https://pay', plan: undefined },
      },
      { instance: '/demo/x', requestId: 'req-1' },
    );
    expect(body).toEqual({
      type: 'https://paygate.dev/problems/insufficient-credits',
      title: 'Insufficient credits',
      status: 402,
      detail: 'This request costs 1 credit but your balance is 0. Top up to continue.',
      instance: '/demo/x',
      code: 'INSUFFICIENT_CREDITS',
      requestId: 'req-1',
      balance: 0,
      required: 1,
      link: 'https://pay',
    });
  });

  it.each([
    ['en', 1, 0, 'costs 1 credit but', 'balance of 0 credits'],
    ['en', 2, 1, 'costs 2 credits but', 'balance of 1 credit '],
    ['de', 1, 0, 'kostet 1 Credit,', 'Guthaben von 0 Credits'],
    ['de', 3, 1, 'kostet 3 Credits,', 'Guthaben von 1 Credit '],
    // French counts 0 and 1 alike: "0 crédit".
    ['fr', 1, 0, 'coûte 1 crédit mais', 'solde de 0 crédit '],
    ['fr', 2, 2, 'coûte 2 crédits mais', 'solde de 2 crédits '],
    ['es', 1, 1, 'cuesta 1 crédito pero', 'saldo de 1 crédito '],
    ['es', 5, 0, 'cuesta 5 créditos pero', 'saldo de 0 créditos '],
    ['ja', 1, 0, '1 クレジットが必要', '残高 0 クレジット'],
  ] as const)(
    'makes the noun agree with its number in %s (required %d, balance %d)',
    (language, required, balance, withBoth, balanceOnly) => {
      const context = { instance: '/x', requestId: 'r', language };
      const code = 'insufficient-credits';
      expect(buildProblem({ code, extensions: { required, balance } }, context).detail).toContain(
        withBoth,
      );
      // The fallback that names only the balance, when the request's cost is not known.
      expect(buildProblem({ code, extensions: { balance } }, context).detail).toContain(
        balanceOnly,
      );
    },
  );

  it('counts limits and units in the same way (concurrency-limited, quota-exhausted)', () => {
    const context = { instance: '/x', requestId: 'r' };
    expect(
      buildProblem({ code: 'concurrency-limited', extensions: { limit: 1, feature: 'f' } }, context)
        .detail,
    ).toContain('allows 1 request to f');
    expect(
      buildProblem(
        { code: 'quota-exhausted', extensions: { used: 1, limit: 1, feature: 'f', plan: 'p' } },
        { ...context, language: 'de' },
      ).detail,
    ).toContain('1 von 1 Einheit von f');
  });

  it('writes codes in UPPER_SNAKE for clients', () => {
    expect(upperSnake('subscription-past-due')).toBe('SUBSCRIPTION_PAST_DUE');
  });
});

describe('per-deployment problem statuses', () => {
  afterEach(() => setProblemStatuses(''));

  it('answers a code with the status the deployment chose, and restores the defaults', () => {
    setProblemStatuses('feature-not-in-plan=403, quota-exhausted = 403');
    const context = { instance: '/x', requestId: 'r' };
    expect(buildProblem({ code: 'feature-not-in-plan' }, context).status).toBe(403);
    expect(buildProblem({ code: 'quota-exhausted' }, context).status).toBe(403);
    expect(buildProblem({ code: 'insufficient-credits' }, context).status).toBe(402);
    setProblemStatuses('');
    expect(buildProblem({ code: 'feature-not-in-plan' }, context).status).toBe(402);
  });

  it('gives a code answered with 400 an errors list naming the request, as every 400 has', () => {
    setProblemStatuses('feature-not-in-plan=400');
    const context = { instance: '/x', requestId: 'r' };
    const body = buildProblem(
      { code: 'feature-not-in-plan', extensions: { feature: 'f' } },
      context,
    );
    expect(body).toMatchObject({
      status: 400,
      errors: [{ field: 'request', messages: [body.detail] }],
    });
    // A 400 that names its fields keeps them; another status gets no errors member.
    const named = [{ field: 'name', messages: ['name must be a string'] }];
    expect(
      buildProblem({ code: 'validation-failed', extensions: { errors: named } }, context).errors,
    ).toEqual(named);
    setProblemStatuses('');
    expect(buildProblem({ code: 'feature-not-in-plan' }, context)).not.toHaveProperty('errors');
  });

  it('names a field given with the problem at whatever status a deployment gives its code', () => {
    const context = { instance: '/x', requestId: 'r' };
    const input = { code: 'bad-request', variant: 'path-backslash', field: 'path' } as const;
    setProblemStatuses('bad-request=422');
    try {
      const body = buildProblem(input, context);
      expect(body).toMatchObject({
        status: 422,
        errors: [{ field: 'path', messages: [body.detail] }],
      });
    } finally {
      setProblemStatuses('');
    }
    expect(buildProblem(input, context).errors).toEqual([
      { field: 'path', messages: ['The path must not contain a backslash.'] },
    ]);
  });

  it('refuses unknown codes and statuses outside 400–599, naming the entry', () => {
    expect(() => setProblemStatuses('no-such-code=403')).toThrow(/"no-such-code=403" names no/);
    expect(() => setProblemStatuses('forbidden=302')).toThrow(/"forbidden=302" needs a status/);
    expect(problemStatus('forbidden')).toBe(403);
  });
});
