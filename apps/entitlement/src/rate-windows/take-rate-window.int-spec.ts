import { type ServiceError, status } from '@grpc/grpc-js';
import { type TakeRateWindowRequest, type TakeRateWindowResponse } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { refusedFields } from '@test/upto-payments.fixture';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementGrpcFixture } from '@test/entitlement-grpc.fixture';
import { RateWindowPruner } from './rate-window-pruner';

const MINUTE = 60_000;

/** The start of the `seconds`-long window `at` falls in, as every gateway aligns it. */
const windowOf = (at: Date, seconds: number): number =>
  Math.floor(at.getTime() / (seconds * 1000)) * seconds * 1000;

/** The row behind a window, as stored. */
const rowOf = async (fx: EntitlementFixture, request: TakeRateWindowRequest) => {
  const rows: { used: string; window_end: Date }[] = await fx.dataSource.query(
    `SELECT "used"::text AS "used", "window_end" FROM "entitlement"."rate_windows"
     WHERE "customer_id" = $1 AND "feature_key" = $2 AND "window_start" = $3`,
    [request.customerId, request.feature, new Date(request.windowStartMs)],
  );
  return rows[0] ?? null;
};

/**
 * Plan rate limits shared by gateway replicas: every unit taken of a window is counted across
 * all callers, and no more than the limit is ever handed out, however many take at once.
 */
describe('TakeRateWindow (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const take = (request: TakeRateWindowRequest) => fx.services.takeRateWindow.execute(request);
  /** A request for the current minute's window of a new customer's `requests`. */
  const minuteWindow = (overrides: Partial<TakeRateWindowRequest> = {}): TakeRateWindowRequest => ({
    customerId: randomUUID(),
    feature: 'requests',
    windowStartMs: windowOf(fx.clock.now(), 60),
    windowSeconds: 60,
    limit: 10,
    units: 1,
    ...overrides,
  });

  it('hands out units up to the limit, then none, and counts what it handed out', async () => {
    const request = minuteWindow({ limit: 10, units: 4 });

    expect(await take(request)).toEqual({ granted: 4, used: 4 });
    expect(await take(request)).toEqual({ granted: 4, used: 8 });
    // Only 2 are left of the 4 asked for.
    expect(await take(request)).toEqual({ granted: 2, used: 10 });
    expect(await take(request)).toEqual({ granted: 0, used: 10 });
    expect(await take({ ...request, units: 1 })).toEqual({ granted: 0, used: 10 });
    // A caller with a smaller limit (the plan changed) gets nothing past it; a larger one, the rest.
    expect(await take({ ...request, limit: 5, units: 1 })).toEqual({ granted: 0, used: 10 });
    expect(await take({ ...request, limit: 12, units: 5 })).toEqual({ granted: 2, used: 12 });

    const row = await rowOf(fx, request);
    expect(row?.used).toBe('12');
    expect(row?.window_end).toEqual(new Date(request.windowStartMs + MINUTE));
  });

  it('hands a first take asking for more than the limit only the limit', async () => {
    const request = minuteWindow({ limit: 3, units: 3 });
    expect(await take(request)).toEqual({ granted: 3, used: 3 });
    expect(await take({ ...request, units: 1 })).toEqual({ granted: 0, used: 3 });
  });

  it('never hands out more than the limit to concurrent callers (60 × 3 units, limit 100)', async () => {
    // A new window: the first takes also race to create its row.
    const request = minuteWindow({ limit: 100, units: 3 });

    const answers = await Promise.all(Array.from({ length: 60 }, () => take(request)));

    expect(answers.reduce((sum, a) => sum + a.granted, 0)).toBe(100);
    for (const a of answers) {
      expect(a.used).toBeLessThanOrEqual(100);
      expect(a.granted).toBeGreaterThanOrEqual(0);
      expect(a.granted).toBeLessThanOrEqual(3);
    }
    // Each answer's `used` includes its own grant: those that got units saw distinct totals.
    const granting = answers.filter((a) => a.granted > 0).map((a) => a.used);
    expect(new Set(granting).size).toBe(granting.length);
    expect(Math.max(...granting)).toBe(100);
    // 33 takes of 3 and one of the last 1; the rest found it full.
    expect(answers.filter((a) => a.granted === 3)).toHaveLength(33);
    expect(answers.filter((a) => a.granted === 1)).toHaveLength(1);
    expect((await rowOf(fx, request))?.used).toBe('100');
  });

  it('counts each customer, feature and window start on its own', async () => {
    const request = minuteWindow({ limit: 2, units: 2 });
    expect(await take(request)).toEqual({ granted: 2, used: 2 });
    expect(await take(request)).toEqual({ granted: 0, used: 2 });

    expect(await take({ ...request, customerId: randomUUID() })).toEqual({ granted: 2, used: 2 });
    expect(await take({ ...request, feature: 'export' })).toEqual({ granted: 2, used: 2 });
    expect(await take({ ...request, windowStartMs: request.windowStartMs + MINUTE })).toEqual({
      granted: 2,
      used: 2,
    });
    expect(await take(request)).toEqual({ granted: 0, used: 2 });
  });

  it('refuses bad fields, naming each, and stores nothing', async () => {
    const customerId = randomUUID();
    expect(
      await refusedFields(
        take({
          customerId: 'not-a-uuid',
          feature: 'Not A Key',
          windowStartMs: -1,
          windowSeconds: 0,
          limit: 0,
          units: 0,
        }),
      ),
    ).toEqual(['customerId', 'feature', 'windowSeconds', 'windowStartMs', 'limit', 'units']);
    // What proto3 delivers for fields left out.
    expect(
      await refusedFields(
        take({
          customerId: '',
          feature: '',
          windowStartMs: 0,
          windowSeconds: 0,
          limit: 0,
          units: 0,
        }),
      ),
    ).toEqual(['customerId', 'feature', 'windowSeconds', 'limit', 'units']);

    const good = minuteWindow({ customerId });
    const fieldsOf = (bad: Partial<TakeRateWindowRequest>) =>
      refusedFields(take({ ...good, ...bad }));
    expect(await fieldsOf({ windowStartMs: good.windowStartMs + 1000 })).toEqual(['windowStartMs']);
    expect(await fieldsOf({ windowStartMs: 1.5 })).toEqual(['windowStartMs']);
    expect(await fieldsOf({ windowSeconds: 31_536_001 })).toEqual(['windowSeconds']);
    expect(await fieldsOf({ windowSeconds: 1.5 })).toEqual(['windowSeconds']);
    expect(await fieldsOf({ limit: 2 ** 53 })).toEqual(['limit']);
    expect(await fieldsOf({ units: 11 })).toEqual(['units']);
    expect(await fieldsOf({ units: -1 })).toEqual(['units']);
    expect(await fieldsOf({ feature: 'a'.repeat(65) })).toEqual(['feature']);
    const [{ count }]: { count: string }[] = await fx.dataSource.query(
      `SELECT count(*)::text AS "count" FROM "entitlement"."rate_windows" WHERE "customer_id" = $1`,
      [customerId],
    );
    expect(count).toBe('0');

    // The bounds themselves are taken.
    expect(
      await take({ ...good, windowSeconds: 31_536_000, windowStartMs: 0, limit: 1, units: 1 }),
    ).toEqual({ granted: 1, used: 1 });
    expect(
      await take({ ...good, limit: Number.MAX_SAFE_INTEGER, units: Number.MAX_SAFE_INTEGER }),
    ).toEqual({ granted: Number.MAX_SAFE_INTEGER, used: Number.MAX_SAFE_INTEGER });
  });

  it('prunes windows a minute after they ended, in batches, and keeps the others', async () => {
    const pruner = new RateWindowPruner(fx.dataSource, fx.clock);
    const start = windowOf(fx.clock.now(), 60);
    fx.clock.set(new Date(start));
    const customerId = randomUUID();
    const ended = minuteWindow({ customerId, windowStartMs: start }); // ends start + 1 min
    const justEnded = minuteWindow({
      customerId,
      windowSeconds: 30,
      windowStartMs: start + MINUTE, // ends start + 1.5 min
    });
    const current = minuteWindow({ customerId, windowStartMs: start + 2 * MINUTE });
    for (const request of [ended, justEnded, current]) await take(request);
    // More ended windows than a batch holds, of another customer.
    await fx.dataSource.query(
      `INSERT INTO "entitlement"."rate_windows"
         ("customer_id", "feature_key", "window_start", "window_end", "used")
       SELECT $1, 'requests', $2::timestamptz - n * interval '1 minute',
              $2::timestamptz - (n - 1) * interval '1 minute', 1
       FROM generate_series(1, 2500) AS n`,
      [randomUUID(), new Date(start)],
    );

    // Two minutes and a bit after `start`: `ended` is over by more than a minute, `justEnded`
    // by 30 s, `current` runs until start + 3 min.
    fx.clock.advance(2 * MINUTE + 1);
    expect(await pruner.prune()).toBeGreaterThanOrEqual(2501);

    expect(await rowOf(fx, ended)).toBeNull();
    expect(await rowOf(fx, justEnded)).not.toBeNull();
    expect(await rowOf(fx, current)).not.toBeNull();
    const [{ left }]: { left: string }[] = await fx.dataSource.query(
      `SELECT count(*)::text AS "left" FROM "entitlement"."rate_windows" WHERE "window_end" < $1`,
      [new Date(fx.clock.now().getTime() - MINUTE)],
    );
    expect(left).toBe('0');
    expect(await pruner.prune()).toBe(0);

    // A minute later `justEnded` goes too; the current window is still counted.
    fx.clock.advance(MINUTE);
    expect(await pruner.prune()).toBeGreaterThanOrEqual(1);
    expect(await rowOf(fx, justEnded)).toBeNull();
    expect(await take(current)).toEqual({ granted: 1, used: 2 });
  });
});

/** TakeRateWindow over the real proto and Nest's gRPC server. */
describe('EntitlementService.TakeRateWindow over gRPC (real Postgres)', () => {
  let fx: EntitlementFixture;
  let grpc: EntitlementGrpcFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    grpc = await EntitlementGrpcFixture.start(fx);
  });
  afterAll(async () => {
    await grpc?.close();
    await fx?.close();
  });

  const call = (request: object) => grpc.call<TakeRateWindowResponse>('takeRateWindow', request);

  it('answers granted and used as numbers, and bad fields with INVALID_ARGUMENT naming them', async () => {
    const request = {
      customerId: randomUUID(),
      feature: 'requests',
      windowStartMs: windowOf(new Date(), 60),
      windowSeconds: 60,
      limit: 5,
      units: 3,
    };
    expect(await call(request)).toEqual({ granted: 3, used: 3 });
    expect(await call(request)).toEqual({ granted: 2, used: 5 });
    expect(await call(request)).toEqual({ granted: 0, used: 5 });

    const refused = await call({ ...request, customerId: 'nope', units: 6 }).then(
      () => null,
      (err: ServiceError) => err,
    );
    expect(refused?.code).toBe(status.INVALID_ARGUMENT);
    expect(refused?.details).toMatch(/customerId.*units/);
    // Fields left out arrive as proto3 defaults ('' and 0): refused, naming them.
    const empty = await call({}).then(
      () => null,
      (err: ServiceError) => err,
    );
    expect(empty?.code).toBe(status.INVALID_ARGUMENT);
    expect(empty?.details).toMatch(/customerId.*feature.*windowSeconds.*limit.*units/);
  });
});
