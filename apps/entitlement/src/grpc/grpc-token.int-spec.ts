import { status } from '@grpc/grpc-js';
import type { CheckResponse, RecordPaymentResponse } from '@paygate/contracts';
import { testPayment } from '@paygate/testing';
import { EntitlementFixture } from '@test/entitlement.fixture';
import { EntitlementGrpcFixture } from '@test/entitlement-grpc.fixture';

const OLD = `old-grpc-token-${'a'.repeat(24)}`;
const NEW = `new-grpc-token-${'b'.repeat(24)}`;

/**
 * GRPC_TOKENS on the real proto and Nest's gRPC server: the guard of every gRPC controller
 * answers UNAUTHENTICATED before any handler runs, and takes either token of a rotation.
 */
describe('the gRPC port with GRPC_TOKENS (real Postgres)', () => {
  let fx: EntitlementFixture;
  let grpc: EntitlementGrpcFixture;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    grpc = await EntitlementGrpcFixture.start(fx, [OLD, NEW]);
  });
  afterAll(async () => {
    await grpc?.close();
    await fx?.close();
  });

  const payment = (customerId: string) => testPayment(customerId);

  it('refuses Check and RecordPayment without a token or with a wrong one, crediting nothing', async () => {
    const tenant = await fx.seedTenant({ credits: 3 });
    const wrong = `wrong-grpc-token-${'c'.repeat(24)}`;
    for (const token of [undefined, wrong, '']) {
      const check = await grpc.statusOf('check', fx.checkInput(tenant.apiKey), token);
      expect(check.code).toBe(status.UNAUTHENTICATED);
      const paid = await grpc.statusOf('recordPayment', payment(tenant.customerId), token);
      expect(paid.code).toBe(status.UNAUTHENTICATED);
      expect(paid.details).not.toContain(wrong);
    }
    // Nothing ran: no credits, no lease.
    expect(await fx.credits.balance(tenant.customerId)).toMatchObject({
      available: 3,
      reserved: 0,
    });
  });

  it('takes either token of a rotation, on every controller', async () => {
    const tenant = await fx.seedTenant({ credits: 3 });
    for (const token of [OLD, NEW]) {
      const decision = await grpc.call<CheckResponse>('check', fx.checkInput(tenant.apiKey), token);
      expect(decision.allowed).toBe(true);
    }
    const credited = await grpc.call<RecordPaymentResponse>(
      'recordPayment',
      payment(tenant.customerId),
      NEW,
    );
    expect(credited).toMatchObject({ replayed: false, customerId: tenant.customerId });
    // Past the guard, the handlers judge the request: INVALID_ARGUMENT, not UNAUTHENTICATED.
    for (const method of ['takeRateWindow', 'holdConcurrency'] as const) {
      expect((await grpc.statusOf(method, {}, OLD)).code).toBe(status.INVALID_ARGUMENT);
      expect((await grpc.statusOf(method, {})).code).toBe(status.UNAUTHENTICATED);
      expect((await grpc.statusOf(method, {}, `x${NEW}`)).code).toBe(status.UNAUTHENTICATED);
    }
    for (const method of ['claimSettlements', 'completeSettlement'] as const)
      expect((await grpc.statusOf(method, {})).code).toBe(status.UNAUTHENTICATED);
  });
});
