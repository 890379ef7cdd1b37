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
