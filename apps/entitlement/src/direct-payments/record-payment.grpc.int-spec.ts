import { status } from '@grpc/grpc-js';
import type { RecordPaymentRequest, RecordPaymentResponse } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { testPayment } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementGrpcFixture } from '@test/entitlement-grpc.fixture';

/** RecordPayment over the real proto and Nest's gRPC server, with its status codes. */
describe('EntitlementService.RecordPayment over gRPC (real Postgres)', () => {
  let fx: EntitlementFixture;
  let grpc: EntitlementGrpcFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    grpc = await EntitlementGrpcFixture.start(fx);
  });
  beforeEach(() => fx.clock.set(new Date()));
  afterAll(async () => {
    await grpc?.close();
    await fx?.close();
  });

  const call = (request: Record<string, unknown>) =>
    grpc.call<RecordPaymentResponse>('recordPayment', request);
  const statusOf = (request: Record<string, unknown>) => grpc.statusOf('recordPayment', request);

  const paymentFor = (customerId: string): RecordPaymentRequest =>
    testPayment(customerId, { credits: 12, amount: '123456789012345678901234567890' });

  it('records a payment, then answers its replay as replayed', async () => {
    const tenant = await fx.seedTenant({ credits: 1 });
    const payment = paymentFor(tenant.customerId);

    const first = await call({ ...payment });
    expect(first).toEqual({
      replayed: false,
      grantId: expect.any(String),
      balance: 13,
      customerId: tenant.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    expect(await call({ ...payment })).toEqual({
      replayed: true,
      grantId: first.grantId,
      balance: 13,
      customerId: tenant.customerId,
      authorizationOpen: false,
      claimed: false,
    });
    const [row]: { amount: string }[] = await fx.dataSource.query(
      `SELECT "amount"::text AS "amount" FROM "entitlement"."direct_payments" WHERE "payment_id" = $1`,
      [payment.paymentId],
    );
    expect(row.amount).toBe(payment.amount);
  });

  it('maps an unknown customer to NOT_FOUND and bad fields to INVALID_ARGUMENT', async () => {
    const tenant = await fx.seedTenant({});
    expect(await statusOf({ ...paymentFor(randomUUID()) })).toMatchObject({
      code: status.NOT_FOUND,
    });
    const bad = await statusOf({ ...paymentFor(tenant.customerId), amount: '1.5' });
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('amount');
    // Fields left out arrive as proto3 defaults ('' and 0): refused, naming them.
    const empty = await statusOf({ customerId: tenant.customerId });
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toMatch(/paymentId.*credits.*network/);
    // An int64 past 2^53 − 1 cannot be a grant.
    const huge = await statusOf({ ...paymentFor(tenant.customerId), credits: '9007199254740993' });
    expect(huge).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(huge.details).toContain('credits');
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(0);
  });

  it('records an upto authorization, and answers its replay within the hold as open', async () => {
    const tenant = await fx.seedTenant({});
    // Far ahead: no claim of another spec, on a clock that moved less, ends this hold.
    const holdUntilMs = fx.clock.now().getTime() + 23 * 60 * 60 * 1000;
    const payment = {
      ...paymentFor(tenant.customerId),
      transaction: '',
      authorization: {
        holdUntilMs,
        protocol: 'x402',
        credential: 'credential',
        requirement: '{"scheme":"upto"}',
        amountPerUnit: '1000',
        amountPerCall: '5',
      },
    };

    expect(await call(payment)).toMatchObject({ replayed: false, authorizationOpen: false });
    expect(await call(payment)).toMatchObject({ replayed: true, authorizationOpen: true });
    fx.clock.set(new Date(holdUntilMs));
    expect(await call(payment)).toMatchObject({ replayed: true, authorizationOpen: false });
  });

  it('refuses a bad authorization with INVALID_ARGUMENT naming its fields', async () => {
    const tenant = await fx.seedTenant({});
    const bad = await statusOf({
      ...paymentFor(tenant.customerId), // a transaction: an authorization has none
      authorization: {
        holdUntilMs: fx.clock.now().getTime() + 60_000,
        protocol: 'nope',
        credential: 'credential',
        requirement: '{}',
        amountPerUnit: '1',
        amountPerCall: '0',
      },
    });
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('authorization.protocol');
    expect(bad.details).toContain('transaction');
  });
});
