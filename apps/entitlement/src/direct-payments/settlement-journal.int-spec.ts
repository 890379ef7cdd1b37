import type { PaymentSettlement } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { EntitlementFixture } from '@test/entitlement.fixture';
import type { RecordPaymentInput } from './record-payment.input';
import { paymentRow, refusedFields } from '@test/upto-payments.fixture';

const CLAIM_SECONDS = 30;

/**
 * `exact` payments journaled before they are settled: whatever happens to the gateway between
 * settling and reporting it, the settlement is found again and credited once, never twice.
 */
describe('settlement journal (real Postgres)', () => {
  let fx: EntitlementFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(25);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(() => fx.close());

  const record = (input: RecordPaymentInput) => fx.services.recordPayment.execute(input);
  const settlements = () => fx.services.paymentSettlements;
  const claimOf = async (paymentId: string): Promise<PaymentSettlement[]> =>
    (await settlements().claim(100, 60)).filter((s) => s.paymentId === paymentId);
  const available = async (customerId: string) => (await fx.credits.balance(customerId)).available;
  const grantsOf = async (customerId: string) =>
    (await fx.credits.listGrants(customerId)).filter((g) => g.source === 'purchase');

  /** A journal entry for a customer's payment, and the report of its settlement. */
  const journaled = async (credits = 10) => {
    const tenant = await fx.seedTenant({});
    const nonce = randomUUID();
    const payment = {
      customerId: tenant.customerId,
      paymentId: `eip155:84532:0xpayer:${nonce}`,
      credits,
      network: 'eip155:84532',
      asset: '0xasset',
      amount: String(credits * 1000),
      payer: '0xpayer',
      transaction: '',
      requestId: `req-${nonce}`,
    };
    const journal: RecordPaymentInput = {
      ...payment,
      settling: {
        protocol: 'x402',
        credential: `credential-${nonce}`,
        requirement: JSON.stringify({ network: 'eip155:84532', amount: payment.amount }),
        claimSeconds: CLAIM_SECONDS,
      },
    };
    const settled = (transaction = `0xtx-${nonce}`): RecordPaymentInput => ({
      ...payment,
      transaction,
    });
    return { tenant, payment, journal, settled, paymentId: payment.paymentId };
  };
  const lapse = () => fx.clock.advance(CLAIM_SECONDS * 1000 + 1);

  it('journals before settling: nothing granted, one caller holds it, the report grants once', async () => {
    const { tenant, journal, settled, paymentId } = await journaled(10);

    expect(await record(journal)).toMatchObject({ replayed: false, claimed: true, grantId: '' });
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      intent: 'charge',
      status: 'settling',
      grant_id: null,
      transaction: '',
      credential: journal.settling!.credential,
    });
    expect(await available(tenant.customerId)).toBe(0);
    // The same credential on another request (or replica) while it is being settled: wait.
    expect(await record(journal)).toMatchObject({ replayed: false, claimed: false });
    // Nobody else is handed a payment its gateway is still settling.
    expect(await claimOf(paymentId)).toEqual([]);

    const reported = await record(settled());
    expect(reported).toMatchObject({ replayed: false, claimed: false, balance: 10 });
    expect(reported.grantId).not.toBe('');
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'settled',
      transaction: settled().transaction,
      grant_id: reported.grantId,
      claimed_until: null,
    });
    // Reported again (a retry), journaled again (a replay): nothing more is granted.
    expect(await record(settled())).toMatchObject({ replayed: true, grantId: reported.grantId });
    expect(await record(journal)).toMatchObject({ replayed: true, claimed: false });
    lapse();
    expect(await claimOf(paymentId)).toEqual([]);
    expect(await grantsOf(tenant.customerId)).toHaveLength(1);
    expect(await available(tenant.customerId)).toBe(10);
  });

  it('a gateway that died between settling and reporting: its claim lapses, any gateway settles it for the full amount, credited once', async () => {
    const { tenant, journal, paymentId } = await journaled(7);
    await record(journal);
    fx.clock.advance(CLAIM_SECONDS * 1000 - 1000);
    expect(await claimOf(paymentId)).toEqual([]);
    lapse();

    const [handedOut] = await claimOf(paymentId);
    expect(handedOut).toEqual({
      paymentId,
      customerId: tenant.customerId,
      protocol: 'x402',
      credential: journal.settling!.credential,
      requirement: journal.settling!.requirement,
      amount: '7000',
      creditsUsed: 7,
    });
    // Claimed: neither a second claimer nor the payer's retry gets it now.
    expect(await claimOf(paymentId)).toEqual([]);
    expect(await record(journal)).toMatchObject({ replayed: false, claimed: false });

    const done = { paymentId, settled: true, transaction: '0xrecovered', failure: '' };
    expect(await settlements().complete(done)).toBe(true);
    expect(await settlements().complete(done)).toBe(false);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'settled',
      transaction: '0xrecovered',
    });
    expect(await grantsOf(tenant.customerId)).toHaveLength(1);
    expect(await available(tenant.customerId)).toBe(7);
    // The payer's retry now finds it spent, like any replay.
    expect(await record(journal)).toMatchObject({ replayed: true, claimed: false });
  });

  it('a settlement that may have gone through (timeout): the claim ends at once, and the payer retry takes it over', async () => {
    const { tenant, journal, settled, paymentId } = await journaled(3);
    await record(journal);
    expect(
      await settlements().complete({
        paymentId,
        settled: false,
        retry: true,
        transaction: '',
        failure: 'timeout',
      }),
    ).toBe(true);
    expect(await paymentRow(fx, paymentId)).toMatchObject({ status: 'settling' });
    // No wait for the claim to lapse: the next request with the credential holds it.
    expect(await record(journal)).toMatchObject({ replayed: false, claimed: true });
    expect(await record(settled())).toMatchObject({ replayed: false, balance: 3 });
    expect(await grantsOf(tenant.customerId)).toHaveLength(1);
  });

  it('a refused settlement grants nothing and may be tried again; a settlement reported after a failure still wins', async () => {
    const { tenant, journal, settled, paymentId } = await journaled(5);
    await record(journal);
    lapse();
    expect(await claimOf(paymentId)).toHaveLength(1);
    const failed = { paymentId, settled: false, transaction: '', failure: 'insufficient_funds' };
    expect(await settlements().complete(failed)).toBe(true);
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'failed',
      failure: 'insufficient_funds',
      grant_id: null,
    });
    expect(await available(tenant.customerId)).toBe(0);
    lapse();
    expect(await claimOf(paymentId)).toEqual([]);

    // The gateway that settled it first (and could not report then) reports it now.
    expect(await record(settled('0xfirst'))).toMatchObject({ replayed: false, balance: 5 });
    expect(await paymentRow(fx, paymentId)).toMatchObject({
      status: 'settled',
      transaction: '0xfirst',
      failure: null,
    });

    // Another payment refused for good is tried again by the payer's next request.
    const second = await journaled(2);
    await record(second.journal);
    lapse();
    await claimOf(second.paymentId);
    await settlements().complete({ ...failed, paymentId: second.paymentId });
    expect(await record(second.journal)).toMatchObject({ replayed: false, claimed: true });
    expect(await paymentRow(fx, second.paymentId)).toMatchObject({
      status: 'settling',
      failure: null,
    });
  });

  it("another customer's request with the credential changes nothing", async () => {
    const { journal, paymentId } = await journaled(4);
    await record(journal);
    const other = await fx.seedTenant({});
    lapse();
    expect(await record({ ...journal, customerId: other.customerId })).toMatchObject({
      replayed: true,
      claimed: false,
    });
    expect(
      await record({
        ...journal,
        settling: null,
        transaction: '0xother',
        customerId: other.customerId,
      }),
    ).toMatchObject({ replayed: true });
    expect(await paymentRow(fx, paymentId)).toMatchObject({ status: 'settling', transaction: '' });
    expect(await available(other.customerId)).toBe(0);
  });

  it('hands a journaled payment to exactly one of many concurrent callers', async () => {
    const { journal, settled, tenant } = await journaled(6);
    const answers = await Promise.all(Array.from({ length: 12 }, () => record(journal)));
    expect(answers.filter((a) => a.claimed)).toHaveLength(1);
    expect(answers.filter((a) => a.replayed)).toHaveLength(0);
    const reports = await Promise.all(Array.from({ length: 12 }, () => record(settled())));
    expect(reports.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await grantsOf(tenant.customerId)).toHaveLength(1);
    expect(await available(tenant.customerId)).toBe(6);
  });

  it('names what is wrong with a journal entry or a report', async () => {
    const { journal, paymentId } = await journaled(1);
    expect(
      await refusedFields(
        record({
          ...journal,
          transaction: '0xtx',
          settling: {
            protocol: 'sms',
            credential: '',
            requirement: '{',
            claimSeconds: 5,
          },
        }),
      ),
    ).toEqual([
      'settling.protocol',
      'settling.credential',
      'settling.requirement',
      'settling.claimSeconds',
      'transaction',
    ]);
    expect(
      await refusedFields(
        record({
          ...journal,
          authorization: {
            holdUntilMs: Date.now() + 60_000,
            protocol: 'x402',
            credential: 'c',
            requirement: '{}',
            amountPerUnit: '1',
            amountPerCall: '0',
          },
        }),
      ),
    ).toEqual(['settling']);
    expect(
      await refusedFields(
        settlements().complete({ paymentId, settled: true, retry: true, transaction: '0x' }),
      ),
    ).toEqual(['retry']);
    expect(await paymentRow(fx, paymentId)).toBeUndefined();
  });
});
