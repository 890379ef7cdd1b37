import { status } from '@grpc/grpc-js';
import type {
  ClaimSettlementsResponse,
  CompleteSettlementResponse,
  PaymentSettlement,
} from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementGrpcFixture } from '@test/entitlement-grpc.fixture';
import type { CompleteSettlement } from './payment-settlements.input';
import {
  MINUTE,
  grantRow,
  paymentRow,
  pgTime,
  refusedFields,
  spend,
  uptoPayment,
} from '@test/upto-payments.fixture';

/**
 * `upto` authorizations settled once their hold ended: for the credits used (the rest expired
 * uncharged), handed to one claimer at a time, completed once. Claims see every ended
 * authorization in the database, so each test looks only at its own.
 */
describe('PaymentSettlementsUseCase (real Postgres)', () => {
  let fx: EntitlementFixture;
  let grpc: EntitlementGrpcFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
    grpc = await EntitlementGrpcFixture.start(fx);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(async () => {
    await grpc?.close();
    await fx?.close();
  });

  const settlements = () => fx.services.paymentSettlements;
  const claimOf = async (paymentIds: string[], claimSeconds = 60): Promise<PaymentSettlement[]> =>
    (await settlements().claim(100, claimSeconds)).filter((s) => paymentIds.includes(s.paymentId));
  const complete = (input: CompleteSettlement) => settlements().complete(input);

  /** An authorization for a new tenant, `used` of its credits spent through a lease. */
  const authorized = async (options: Parameters<typeof uptoPayment>[2] = {}, used = 0) => {
    const tenant = await fx.seedTenant({});
    const payment = uptoPayment(fx, tenant.customerId, options);
    const { grantId } = await fx.services.recordPayment.execute(payment);
    if (used > 0) await spend(fx, tenant.apiKey, used);
    return { tenant, payment, grantId, paymentId: payment.paymentId };
  };
  const endHolds = () => fx.clock.advance(MINUTE);
  const inSeconds = (seconds: number) => pgTime(fx, fx.clock.now().getTime() + seconds * 1000);

  it('hands out nothing before the hold ends', async () => {
    const { paymentId } = await authorized({}, 3);
    fx.clock.advance(MINUTE - 1);
    expect(await claimOf([paymentId])).toEqual([]);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'authorized',
      claimed_until: null,
    });
  });

  it('settles 3 of 10 credits used for perCall + 3 x perUnit; the other 7 expire uncharged', async () => {
    const { tenant, payment, paymentId, grantId } = await authorized({ credits: 10 }, 3);
    endHolds();

    // The claim itself expires the grant: nothing read the balance since the hold ended.
    expect(await claimOf([paymentId])).toEqual([
      {
        paymentId,
        customerId: tenant.customerId,
        protocol: 'x402',
        credential: payment.authorization.credential,
        requirement: payment.authorization.requirement,
        amount: '3500', // 500 + 3 x 1000
        creditsUsed: 3,
      },
    ]);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'settling',
      credits_used: '3',
      settle_amount: '3500',
      claimed_until: await inSeconds(60),
      settled_at: null,
    });
    expect(await grantRow(fx, grantId)).toMatchObject({ status: 'expired', expired: 7 });
    const { entries } = await fx.credits.history(tenant.customerId, 10);
    expect(entries.map((e) => [e.type, e.amount]).reverse()).toEqual([
      ['grant', 10],
      ['reserve', -3],
      ['expire', -7],
    ]);
    expect(await fx.credits.balance(tenant.customerId)).toMatchObject({
      available: 0,
      reserved: 3,
    });
    expect(await fx.ledger.findDrift()).toEqual([]);
    // Claimed: not handed out again while the claim lasts.
    expect(await claimOf([paymentId])).toEqual([]);
  });

  it('counts credits that paid off an overdraft as used', async () => {
    const tenant = await fx.seedTenant({});
    const at = fx.clock.now().toISOString();
    // Usage without a lease, with no credits: an overdraft of 2.
    await fx.charge.execute({
      id: randomUUID(),
      customerId: tenant.customerId,
      meterKey: 'api_requests',
      quantity: 2,
      leased: [],
      firstEventAt: at,
      lastEventAt: at,
      recordedAt: at,
    });
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(-2);
    const payment = uptoPayment(fx, tenant.customerId, { credits: 10 });
    expect(await fx.services.recordPayment.execute(payment)).toMatchObject({ balance: 8 });
    endHolds();

    expect(await claimOf([payment.paymentId])).toEqual([
      expect.objectContaining({ amount: '2500', creditsUsed: 2 }),
    ]);
  });

  it('closes an authorization of which nothing was used, without handing it out', async () => {
    const { paymentId, grantId } = await authorized({ credits: 5 });
    endHolds();

    expect(await claimOf([paymentId])).toEqual([]);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'settled',
      credits_used: '0',
      settle_amount: '0',
      transaction: '',
      settled_at: await pgTime(fx, fx.clock.now()),
    });
    expect(await grantRow(fx, grantId)).toMatchObject({ expired: 5 });
    fx.clock.advance(10 * MINUTE);
    expect(await claimOf([paymentId])).toEqual([]);
  });

  it('works out amounts past 2^53 exactly, never more than authorized', async () => {
    const amountPerUnit = '123456789012345678901234567890';
    const uncapped = await authorized(
      { amountPerUnit, amountPerCall: '7', amount: '9'.repeat(78) },
      3,
    );
    const capped = await authorized(
      { amountPerUnit, amountPerCall: '7', amount: '100000000000000000000000000000' },
      3,
    );
    endHolds();

    const claimed = await claimOf([uncapped.paymentId, capped.paymentId]);
    const amountOf = (id: string) => claimed.find((s) => s.paymentId === id)?.amount;
    expect(amountOf(uncapped.paymentId)).toBe('370370367037037036703703703677');
    expect(amountOf(capped.paymentId)).toBe('100000000000000000000000000000');
    expect(await paymentRow(fx, uncapped.paymentId)).toMatchObject({
      settle_amount: '370370367037037036703703703677',
    });
  });

  it('hands each ended authorization to only one of two concurrent claimers', async () => {
    const payments = await Promise.all(Array.from({ length: 6 }, () => authorized({}, 1)));
    const ids = payments.map((p) => p.paymentId);
    endHolds();

    const [first, second] = await Promise.all([claimOf(ids), claimOf(ids)]);

    const handedOut = [...first, ...second].map((s) => s.paymentId);
    expect(handedOut.sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await paymentRow(fx, id)).toMatchObject({ status: 'settling' });
  });

  it('hands a settlement whose claim lapsed out again, for the same amount', async () => {
    const { paymentId } = await authorized({}, 2);
    endHolds();
    const [first] = await claimOf([paymentId], 10);
    expect(first).toMatchObject({ amount: '2500', creditsUsed: 2 });

    fx.clock.advance(9_999);
    expect(await claimOf([paymentId], 10)).toEqual([]);
    fx.clock.advance(1); // the claimer died: the next one gets it
    expect(await claimOf([paymentId], 30)).toEqual([first]);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'settling',
      claimed_until: await inSeconds(30),
    });
  });

  it('completes a settlement once: settled with its transaction, then nothing changes', async () => {
    const { paymentId } = await authorized({}, 1);
    endHolds();
    await claimOf([paymentId]);
    const settled = { paymentId, settled: true, transaction: '0xsettled', failure: '' };

    expect(await complete(settled)).toBe(true);
    const row = await paymentRow(fx, paymentId);
    expect(row).toMatchObject({
      status: 'settled',
      transaction: '0xsettled',
      settled_at: await pgTime(fx, fx.clock.now()),
      failure: null,
    });
    expect(await complete(settled)).toBe(false);
    expect(await complete({ paymentId, settled: false, failure: 'late refusal' })).toBe(false);
    expect(await paymentRow(fx, paymentId)).toEqual(row);
    fx.clock.advance(10 * MINUTE);
    expect(await claimOf([paymentId])).toEqual([]);
  });

  it('closes a refused settlement as failed, once, keeping 500 characters of the reason', async () => {
    const { paymentId } = await authorized({}, 1);
    endHolds();
    await claimOf([paymentId]);

    expect(await complete({ paymentId, settled: false, failure: 'x'.repeat(600) })).toBe(true);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'failed',
      failure: 'x'.repeat(500),
      settled_at: null,
      transaction: '',
    });
    expect(await complete({ paymentId, settled: true, transaction: '0xlate' })).toBe(false);
    expect(await paymentRow(fx, paymentId)).toMatchObject({ status: 'failed', transaction: '' });
    fx.clock.advance(10 * MINUTE);
    expect(await claimOf([paymentId])).toEqual([]);
  });

  it('completes nothing that is not being settled: unknown, or still within its hold', async () => {
    const { paymentId } = await authorized({}, 1);
    expect(await complete({ paymentId: `unknown-${randomUUID()}`, settled: true })).toBe(false);
    expect(await complete({ paymentId, settled: true, transaction: '0x1' })).toBe(false);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'authorized',
      transaction: '',
    });
  });

  it('refuses bad inputs with validation-failed naming them', async () => {
    const claim = (limit: number, claimSeconds: number) =>
      refusedFields(settlements().claim(limit, claimSeconds));
    expect(await claim(0, 60)).toEqual(['limit']);
    expect(await claim(101, 60)).toEqual(['limit']);
    expect(await claim(1.5, 9)).toEqual(['limit', 'claimSeconds']);
    expect(await claim(1, 3601)).toEqual(['claimSeconds']);
    expect(await refusedFields(complete({ paymentId: '', settled: true }))).toEqual(['paymentId']);
    expect(
      await refusedFields(
        complete({ paymentId: 'p'.repeat(513), settled: true, transaction: 't'.repeat(513) }),
      ),
    ).toEqual(['paymentId', 'transaction']);
  });

  it('claims and completes over gRPC, exact amounts as strings; bad input is INVALID_ARGUMENT', async () => {
    const { paymentId, tenant } = await authorized(
      {
        amountPerUnit: '123456789012345678901234567890',
        amountPerCall: '0',
        amount: '9'.repeat(40),
      },
      2,
    );
    endHolds();

    const { settlements: claimed } = await grpc.call<ClaimSettlementsResponse>('claimSettlements', {
      limit: 100,
      claimSeconds: 60,
    });
    expect(claimed.filter((s) => s.paymentId === paymentId)).toEqual([
      expect.objectContaining({
        customerId: tenant.customerId,
        amount: '246913578024691357802469135780',
        creditsUsed: 2,
      }),
    ]);
    const done = { paymentId, settled: true, transaction: '0xabc' };
    expect(await grpc.call<CompleteSettlementResponse>('completeSettlement', done)).toEqual({
      completed: true,
    });
    expect(await grpc.call<CompleteSettlementResponse>('completeSettlement', done)).toEqual({
      completed: false,
    });

    const bad = await grpc.statusOf('claimSettlements', { limit: 0, claimSeconds: 60 });
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('limit');
    const badComplete = await grpc.statusOf('completeSettlement', { settled: true });
    expect(badComplete.code).toBe(status.INVALID_ARGUMENT);
    expect(badComplete.details).toContain('paymentId');
  });
});
