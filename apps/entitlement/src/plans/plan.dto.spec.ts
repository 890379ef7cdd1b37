import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ProblemException, problemStatus, problemValidationPipe } from '@paygate/problem-details';
import { LedgerQueryDto } from '../credits/credit.dto';
import { CreatePlanDto } from './plan.dto';

/** Numbers that fit: integers past what their columns or JSON carry are a 400 at the edge. */
describe('plan and ledger DTO bounds', () => {
  const plan = (feature: Record<string, unknown>) =>
    plainToInstance(CreatePlanDto, {
      key: 'pro',
      name: 'Pro',
      features: [{ key: 'requests', kind: 'metered', meterKey: 'api_requests', ...feature }],
    });

  /** The failing properties, from the nested feature's errors. */
  const refused = async (feature: Record<string, unknown>) =>
    (await validate(plan(feature))).flatMap((e) =>
      (e.children ?? []).flatMap((f) => (f.children ?? []).map((c) => c.property)),
    );

  it.each([
    ['unitPrice', 2 ** 60],
    ['includedUnits', 2 ** 60],
    ['unitPrice', Number.MAX_SAFE_INTEGER + 1],
    ['rateLimitRequests', 2 ** 31],
    ['concurrencyLimit', 0],
    ['concurrencyLimit', 1.5],
    ['concurrencyLimit', 1_000_001],
  ])('refuses %s = %d', async (field, value) => {
    const feature: Record<string, unknown> = { [field]: value };
    if (field === 'rateLimitRequests') feature.rateLimitWindowSeconds = 60;
    expect(await refused(feature)).toEqual([field]);
  });

  it('accepts every bound itself', async () => {
    expect(
      await refused({
        unitPrice: Number.MAX_SAFE_INTEGER,
        includedUnits: Number.MAX_SAFE_INTEGER,
        rateLimitRequests: 2 ** 31 - 1,
        rateLimitWindowSeconds: 86_400,
        concurrencyLimit: 1_000_000,
      }),
    ).toEqual([]);
    expect(await refused({ concurrencyLimit: 1 })).toEqual([]);
    // Optional: a plan without one has no concurrency limit.
    expect(await refused({})).toEqual([]);
  });

  it.each([0, 1.5, 1_000_001, '5'])(
    'answers concurrencyLimit = %p with a 400 naming the field',
    async (concurrencyLimit) => {
      const body = {
        key: 'pro',
        name: 'Pro',
        features: [
          { key: 'requests', kind: 'metered', meterKey: 'api_requests', concurrencyLimit },
        ],
      };
      const err: unknown = await problemValidationPipe()
        .transform(body, { type: 'body', metatype: CreatePlanDto })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(ProblemException);
      const problem = (err as ProblemException).problem;
      expect(problemStatus(problem.code)).toBe(400);
      expect(problem.extensions?.errors).toEqual([
        { field: 'features.0.concurrencyLimit', messages: expect.any(Array) },
      ]);
    },
  );

  it('bounds the ledger cursor to ids a JSON number carries', async () => {
    const errors = async (before: string) =>
      (await validate(plainToInstance(LedgerQueryDto, { before }))).map((e) => e.property);
    expect(await errors('1e20')).toEqual(['before']);
    expect(await errors(String(Number.MAX_SAFE_INTEGER))).toEqual([]);
  });
});

/** A boolean feature is on or off: terms of a meter, a quota or a price are refused naming them. */
describe('plan feature terms by kind', () => {
  const problemOf = async (features: Record<string, unknown>[]) =>
    problemValidationPipe()
      .transform({ key: 'pro', name: 'Pro', features }, { type: 'body', metatype: CreatePlanDto })
      .then(
        () => undefined,
        (e: unknown) => (e as ProblemException).problem,
      );

  it.each([
    ['meterKey', 'api_requests'],
    ['includedUnits', 100],
    ['limitPolicy', 'credits'],
    ['unitPrice', 5],
    ['unitPrice', 0],
    ['usagePeriod', 'day'],
    ['softLimitPercent', 80],
  ])('refuses %s = %p on a boolean feature, naming it', async (field, value) => {
    const problem = await problemOf([
      { key: 'requests', kind: 'metered', meterKey: 'api_requests', unitPrice: 1 },
      { key: 'export', kind: 'boolean', [field]: value },
    ]);
    expect(problem && problemStatus(problem.code)).toBe(400);
    expect(problem?.extensions?.errors).toEqual([
      {
        field: `features.1.${field}`,
        messages: [`${field} is a term of metered features: leave it out of a boolean feature`],
      },
    ]);
  });

  it('names each such term of each boolean feature', async () => {
    const problem = await problemOf([
      { key: 'export', kind: 'boolean', unitPrice: 1, includedUnits: 3 },
    ]);
    expect((problem?.extensions?.errors as { field: string }[]).map((e) => e.field)).toEqual([
      'features.0.includedUnits',
      'features.0.unitPrice',
    ]);
  });

  it('takes the limits every feature has, and every term of a metered one', async () => {
    expect(
      await problemOf([
        {
          key: 'export',
          kind: 'boolean',
          rateLimitRequests: 10,
          rateLimitWindowSeconds: 60,
          concurrencyLimit: 2,
        },
        {
          key: 'requests',
          kind: 'metered',
          meterKey: 'api_requests',
          includedUnits: 100,
          limitPolicy: 'block',
          unitPrice: 0,
          usagePeriod: 'day',
          softLimitPercent: 80,
        },
      ]),
    ).toBeUndefined();
  });

  it('leaves the terms of a feature of an unknown kind to the kind', async () => {
    const problem = await problemOf([{ key: 'x', kind: 'switch', unitPrice: 1 }]);
    expect((problem?.extensions?.errors as { field: string }[]).map((e) => e.field)).toEqual([
      'features.0.kind',
    ]);
  });
});
