import { type ServiceError, status } from '@grpc/grpc-js';
import { type HoldConcurrencyRequest, type HoldConcurrencyResponse } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { refusedFields } from '@test/upto-payments.fixture';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementGrpcFixture } from '@test/entitlement-grpc.fixture';
import { ConcurrencyHoldPruner } from './concurrency-hold-pruner';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

type Hold = { slots: number; expires_at: Date };

/** Every stored hold of a customer's feature, by holder. */
const holdsOf = async (
  fx: EntitlementFixture,
  customerId: string,
  feature = 'requests',
): Promise<Record<string, Hold>> => {
  const rows: (Hold & { holder: string })[] = await fx.dataSource.query(
    `SELECT "holder", "slots", "expires_at" FROM "entitlement"."concurrency_holds"
     WHERE "customer_id" = $1 AND "feature_key" = $2 ORDER BY "holder"`,
    [customerId, feature],
  );
  return Object.fromEntries(rows.map(({ holder, ...hold }) => [holder, hold]));
};

/** Slots stored for a customer's feature, in all (expired ones included). */
const storedSum = async (fx: EntitlementFixture, customerId: string): Promise<number> => {
  const [{ sum }]: { sum: number }[] = await fx.dataSource.query(
    `SELECT COALESCE(SUM("slots"), 0)::int AS "sum" FROM "entitlement"."concurrency_holds"
     WHERE "customer_id" = $1`,
    [customerId],
  );
  return sum;
};

/**
 * Plan concurrency limits shared by gateway replicas: each holds a share of the slots for a
 * while, and the unexpired shares of all of them never sum past the limit, however many set
 * theirs at once.
 */
describe('HoldConcurrency (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const hold = (request: HoldConcurrencyRequest) => fx.services.holdConcurrency.execute(request);
  /** A request of holder `a` for a new customer's `requests`, limit 10, held for 30 s. */
  const request = (overrides: Partial<HoldConcurrencyRequest> = {}): HoldConcurrencyRequest => ({
    customerId: randomUUID(),
    feature: 'requests',
    holder: 'a',
    limit: 10,
    slots: 1,
    holdSeconds: 30,
    ...overrides,
  });

  it('holds slots up to the limit across holders, never past it', async () => {
    const a = request({ slots: 4 });
    const as = (holder: string, slots: number) => hold({ ...a, holder, slots });

    expect(await as('a', 4)).toEqual({ held: 4, inUse: 4 });
    expect(await as('b', 4)).toEqual({ held: 4, inUse: 8 });
    // Only 2 are left of the 4 asked for; then none.
    expect(await as('c', 4)).toEqual({ held: 2, inUse: 10 });
    expect(await as('d', 1)).toEqual({ held: 0, inUse: 10 });

    const expiresAt = new Date(fx.clock.now().getTime() + 30 * SECOND);
    expect(await holdsOf(fx, a.customerId)).toEqual({
      a: { slots: 4, expires_at: expiresAt },
      b: { slots: 4, expires_at: expiresAt },
      c: { slots: 2, expires_at: expiresAt },
    });
  });

  it('sets a hold: the same again changes nothing, fewer gives back, 0 deletes it', async () => {
    const a = request({ slots: 6 });
    const as = (holder: string, slots: number) => hold({ ...a, holder, slots });

    expect(await as('a', 6)).toEqual({ held: 6, inUse: 6 });
    // Asking again for as many is a retry, not a second helping.
    expect(await as('a', 6)).toEqual({ held: 6, inUse: 6 });
    expect(await as('b', 10)).toEqual({ held: 4, inUse: 10 });
    expect(await as('a', 6)).toEqual({ held: 6, inUse: 10 });
    // Giving back makes room for the others.
    expect(await as('a', 2)).toEqual({ held: 2, inUse: 6 });
    expect(await as('b', 10)).toEqual({ held: 8, inUse: 10 });
    // A raise gets only what is free.
    expect(await as('a', 10)).toEqual({ held: 2, inUse: 10 });
    expect(await as('a', 0)).toEqual({ held: 0, inUse: 8 });
    expect(Object.keys(await holdsOf(fx, a.customerId))).toEqual(['b']);
    // A hold set again lasts from now.
    fx.clock.advance(20 * SECOND);
    expect(await as('b', 8)).toEqual({ held: 8, inUse: 8 });
    expect((await holdsOf(fx, a.customerId)).b.expires_at).toEqual(
      new Date(fx.clock.now().getTime() + 30 * SECOND),
    );
    expect(await as('b', 0)).toEqual({ held: 0, inUse: 0 });
    expect(await holdsOf(fx, a.customerId)).toEqual({});
    // Giving back what is not held is a no-op.
    expect(await as('c', 0)).toEqual({ held: 0, inUse: 0 });
  });

  it('stops counting a hold once it expired, and counts it until then', async () => {
    const a = request({ holder: 'a', slots: 6, holdSeconds: 10 });
    const b = { ...a, holder: 'b', slots: 10, holdSeconds: 60 };
    expect(await hold(a)).toEqual({ held: 6, inUse: 6 });
    expect(await hold(b)).toEqual({ held: 4, inUse: 10 });

    fx.clock.advance(10 * SECOND - 1);
    expect(await hold(b)).toEqual({ held: 4, inUse: 10 });
    // `a` held until now: its slots are free (a gateway that stopped gives them back this way).
    fx.clock.advance(1);
    expect(await hold(b)).toEqual({ held: 10, inUse: 10 });
    // Its expired row counts for nothing when it asks again: it gets what `b` leaves.
    expect(await hold(a)).toEqual({ held: 0, inUse: 10 });
    expect(Object.keys(await holdsOf(fx, a.customerId))).toEqual(['b']);
  });

  it('counts each customer and feature on its own', async () => {
    const a = request({ limit: 2, slots: 2 });
    expect(await hold(a)).toEqual({ held: 2, inUse: 2 });
    expect(await hold({ ...a, holder: 'b' })).toEqual({ held: 0, inUse: 2 });
    expect(await hold({ ...a, holder: 'b', customerId: randomUUID() })).toEqual({
      held: 2,
      inUse: 2,
    });
    expect(await hold({ ...a, holder: 'b', feature: 'export' })).toEqual({ held: 2, inUse: 2 });
    expect(await hold({ ...a, holder: 'b' })).toEqual({ held: 0, inUse: 2 });
  });

  it('grants nothing, never less, under a smaller limit than the others hold', async () => {
    const a = request({ limit: 10, slots: 8 });
    expect(await hold(a)).toEqual({ held: 8, inUse: 8 });
    // The plan changed to 5: `b` learnt it first; `a` still holds 8 under the old limit.
    expect(await hold({ ...a, holder: 'b', limit: 5, slots: 3 })).toEqual({ held: 0, inUse: 8 });
    expect(Object.keys(await holdsOf(fx, a.customerId))).toEqual(['a']);
    // `a` learns it too and sets its hold under it.
    expect(await hold({ ...a, limit: 5, slots: 5 })).toEqual({ held: 5, inUse: 5 });
    expect(await hold({ ...a, holder: 'b', limit: 5, slots: 3 })).toEqual({ held: 0, inUse: 5 });
    expect(await hold({ ...a, limit: 5, slots: 2 })).toEqual({ held: 2, inUse: 2 });
    expect(await hold({ ...a, holder: 'b', limit: 5, slots: 3 })).toEqual({ held: 3, inUse: 5 });
  });

  it('never holds more than the limit for concurrent holders (50 × 3 slots, limit 100)', async () => {
    const first = request({ limit: 100, slots: 3 });
    const holders = Array.from({ length: 50 }, (_, i) => `gateway-${i}`);

    const answers = await Promise.all(holders.map((holder) => hold({ ...first, holder })));

    expect(answers.reduce((sum, a) => sum + a.held, 0)).toBe(100);
    for (const a of answers) {
      expect(a.held).toBeGreaterThanOrEqual(0);
      expect(a.held).toBeLessThanOrEqual(3);
      expect(a.inUse).toBeLessThanOrEqual(100);
    }
    // 33 holds of 3 and one of the last 1; the rest found it full.
    expect(answers.filter((a) => a.held === 3)).toHaveLength(33);
    expect(answers.filter((a) => a.held === 1)).toHaveLength(1);
    // Each that got slots saw a distinct total: the holds happened one after the other.
    const granting = answers.filter((a) => a.held > 0).map((a) => a.inUse);
    expect(new Set(granting).size).toBe(granting.length);
    expect(Math.max(...granting)).toBe(100);
    expect(await storedSum(fx, first.customerId)).toBe(100);
    expect(Object.keys(await holdsOf(fx, first.customerId))).toHaveLength(34);
  });

  it('never exceeds the limit while concurrent holders raise and give back', async () => {
    const base = request({ limit: 100 });
    const holders = Array.from({ length: 50 }, (_, i) => `gateway-${i}`);
    // What the table holds in all, read again and again while the holds run.
    const sums: number[] = [];
    let running = true;
    const watcher = (async () => {
      while (running) sums.push(await storedSum(fx, base.customerId));
    })();

    for (let round = 0; round < 4; round++) {
      // Deterministic asks from 0 to 7: some holders raise, some give back, some give all back.
      const asks = holders.map((_, i) => (i * 7 + round * 3) % 8);
      const answers = await Promise.all(
        holders.map((holder, i) => hold({ ...base, holder, slots: asks[i] })),
      );
      answers.forEach((a, i) => {
        expect(a.held).toBeGreaterThanOrEqual(0);
        expect(a.held).toBeLessThanOrEqual(asks[i]);
        expect(a.inUse).toBeLessThanOrEqual(100);
      });
      // What each holder was told is exactly what is stored for it.
      const stored = await holdsOf(fx, base.customerId);
      const told = Object.fromEntries(
        holders.flatMap((holder, i) => (answers[i].held > 0 ? [[holder, answers[i].held]] : [])),
      );
      expect(Object.fromEntries(Object.entries(stored).map(([h, s]) => [h, s.slots]))).toEqual(
        told,
      );
      expect(await storedSum(fx, base.customerId)).toBeLessThanOrEqual(100);
    }
    running = false;
    await watcher;
    expect(sums.length).toBeGreaterThan(0);
    expect(Math.max(...sums)).toBeLessThanOrEqual(100);
  });

  it('refuses bad fields, naming each, and stores nothing', async () => {
    const customerId = randomUUID();
    expect(
      await refusedFields(
        hold({
          customerId: 'not-a-uuid',
          feature: 'Not A Key',
          holder: '',
          limit: 0,
          slots: -1,
          holdSeconds: 0,
        }),
      ),
    ).toEqual(['customerId', 'feature', 'holder', 'limit', 'slots', 'holdSeconds']);
    // What proto3 delivers for fields left out: slots 0 is a give-back, the others are refused.
    expect(
      await refusedFields(
        hold({ customerId: '', feature: '', holder: '', limit: 0, slots: 0, holdSeconds: 0 }),
      ),
    ).toEqual(['customerId', 'feature', 'holder', 'limit', 'holdSeconds']);

    const good = request({ customerId });
    const fieldsOf = (bad: Partial<HoldConcurrencyRequest>) =>
      refusedFields(hold({ ...good, ...bad }));
    expect(await fieldsOf({ feature: 'a'.repeat(65) })).toEqual(['feature']);
    expect(await fieldsOf({ holder: 'a'.repeat(129) })).toEqual(['holder']);
    expect(await fieldsOf({ holder: 'gateway 1' })).toEqual(['holder']);
    expect(await fieldsOf({ holder: 'gatewäy' })).toEqual(['holder']);
    expect(await fieldsOf({ holder: 'gateway\n' })).toEqual(['holder']);
    expect(await fieldsOf({ limit: 1_000_001, slots: 1 })).toEqual(['limit']);
    expect(await fieldsOf({ limit: 1.5 })).toEqual(['limit']);
    expect(await fieldsOf({ limit: -1 })).toEqual(['limit']);
    expect(await fieldsOf({ slots: 11 })).toEqual(['slots']);
    expect(await fieldsOf({ slots: 1.5 })).toEqual(['slots']);
    expect(await fieldsOf({ holdSeconds: 3601 })).toEqual(['holdSeconds']);
    expect(await fieldsOf({ holdSeconds: 0.5 })).toEqual(['holdSeconds']);
    expect(await holdsOf(fx, customerId)).toEqual({});

    // The bounds themselves are taken.
    expect(
      await hold({
        ...good,
        holder: '~'.repeat(128),
        limit: 1_000_000,
        slots: 1_000_000,
        holdSeconds: 3600,
      }),
    ).toEqual({ held: 1_000_000, inUse: 1_000_000 });
    expect(await hold({ ...good, holder: '!', limit: 1, slots: 1, holdSeconds: 1 })).toEqual({
      held: 0,
      inUse: 1_000_000,
    });
  });

  it('prunes holds a minute after they expired, in batches, and keeps the others', async () => {
    const pruner = new ConcurrencyHoldPruner(fx.dataSource, fx.clock);
    const customerId = randomUUID();
    const at = (holder: string, holdSeconds: number) =>
      hold(request({ customerId, holder, slots: 1, holdSeconds }));
    await at('expired', 10); // expires in 10 s
    await at('just-expired', 60); // expires in 60 s
    await at('current', 3600);
    // More expired holds than a batch holds, of another customer.
    await fx.dataSource.query(
      `INSERT INTO "entitlement"."concurrency_holds"
         ("customer_id", "feature_key", "holder", "slots", "expires_at")
       SELECT $1, 'requests', 'gateway-' || n, 1, $2::timestamptz - n * interval '1 second'
       FROM generate_series(1, 2500) AS n`,
      [randomUUID(), fx.clock.now()],
    );

    // 90 s on: `expired` ran out 80 s ago, `just-expired` 30 s ago, `current` holds on.
    fx.clock.advance(90 * SECOND);
    expect(await pruner.prune()).toBeGreaterThanOrEqual(2501);
    expect(Object.keys(await holdsOf(fx, customerId))).toEqual(['current', 'just-expired']);
    const [{ left }]: { left: string }[] = await fx.dataSource.query(
      `SELECT count(*)::text AS "left" FROM "entitlement"."concurrency_holds"
       WHERE "expires_at" < $1`,
      [new Date(fx.clock.now().getTime() - MINUTE)],
    );
    expect(left).toBe('0');
    expect(await pruner.prune()).toBe(0);

    // A minute later `just-expired` goes too; `current` still counts.
    fx.clock.advance(MINUTE);
    expect(await pruner.prune()).toBeGreaterThanOrEqual(1);
    expect(Object.keys(await holdsOf(fx, customerId))).toEqual(['current']);
    expect(await at('other', 10)).toEqual({ held: 1, inUse: 2 });
  });
});

/** HoldConcurrency over the real proto and Nest's gRPC server. */
describe('EntitlementService.HoldConcurrency over gRPC (real Postgres)', () => {
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

  const call = (request: object) => grpc.call<HoldConcurrencyResponse>('holdConcurrency', request);
  const refusal = (request: object) =>
    call(request).then(
      () => null,
      (err: ServiceError) => err,
    );

  it('answers held and inUse as numbers, and bad fields with INVALID_ARGUMENT naming them', async () => {
    const request = {
      customerId: randomUUID(),
      feature: 'requests',
      holder: 'gateway-1',
      limit: 5,
      slots: 3,
      holdSeconds: 30,
    };
    expect(await call(request)).toEqual({ held: 3, inUse: 3 });
    expect(await call({ ...request, holder: 'gateway-2' })).toEqual({ held: 2, inUse: 5 });
    expect(await call({ ...request, slots: 0 })).toEqual({ held: 0, inUse: 2 });

    const refused = await refusal({ ...request, customerId: 'nope', slots: 6 });
    expect(refused?.code).toBe(status.INVALID_ARGUMENT);
    expect(refused?.details).toMatch(/customerId.*slots/);
    // Fields left out arrive as proto3 defaults ('' and 0): refused, naming them.
    const empty = await refusal({});
    expect(empty?.code).toBe(status.INVALID_ARGUMENT);
    expect(empty?.details).toMatch(/customerId.*feature.*holder.*limit.*holdSeconds/);
  });
});
