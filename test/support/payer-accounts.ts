import { randomUUID } from 'node:crypto';
import type { CheckInput } from '../../apps/entitlement/src/decisions/decision';
import type { RecordPaymentInput } from '../../apps/entitlement/src/direct-payments/record-payment.input';
import type { PlanFeatureDto } from '../../apps/entitlement/src/plans/plan.dto';
import type { EntitlementFixture } from './entitlement.fixture';
import { domainRefusal } from './refusal';

/**
 * What the payer-account tests share (payer-accounts and payer-quotes int-specs): payments,
 * payer plans and the rows they leave. `fixture` is read at each call (it is opened in
 * beforeAll).
 */
export function payerAccountHelpers(fixture: () => EntitlementFixture) {
  const record = (input: RecordPaymentInput) => fixture().services.recordPayment.execute(input);
  const check = (input: CheckInput) => fixture().check.execute(input);

  /** A payer plan: `requests` (metered, credits at unitPrice), and `export` (boolean). */
  const payerPlan = async (
    unitPrice: number,
    feature: Partial<PlanFeatureDto> = {},
    key = `payer-${randomUUID().slice(0, 8)}`,
  ) => {
    const plan = await fixture().plans.create({
      key,
      name: 'Pay per call',
      features: [
        {
          key: 'requests',
          kind: 'metered',
          meterKey: 'api_requests',
          includedUnits: 0,
          limitPolicy: 'credits',
          unitPrice,
          ...feature,
        },
        { key: 'export', kind: 'boolean' },
      ],
    });
    return { key, id: plan.id, version: plan.version };
  };

  const newPayer = (prefix = '0xpayer') => `${prefix}-${randomUUID()}`;

  const paymentOf = (
    plan: string,
    payer: string,
    input: Partial<RecordPaymentInput> = {},
  ): RecordPaymentInput => {
    const nonce = randomUUID();
    const network = input.network ?? 'paygate:test';
    return {
      customerId: '',
      payerPlan: plan,
      paymentId: `${network}:${payer}:${nonce}`,
      credits: 10,
      network,
      asset: 'USD',
      amount: '10000',
      payer,
      transaction: `tx-${nonce}`,
      requestId: `req-${nonce}`,
      ...input,
    };
  };

  const available = async (customerId: string) =>
    (await fixture().credits.balance(customerId)).available;
  const count = async (sql: string, params: unknown[] = []): Promise<number> => {
    const [{ n }]: { n: number }[] = await fixture().dataSource.query(
      `SELECT count(*)::int AS "n" FROM ${sql}`,
      params,
    );
    return n;
  };
  const accountRows = (account: string): Promise<{ customer_id: string }[]> =>
    fixture().dataSource.query(
      `SELECT "customer_id" FROM "entitlement"."payer_accounts" WHERE "account" = $1`,
      [account],
    );
  const customersNamed = async (account: string): Promise<string[]> =>
    (
      await fixture().dataSource.query<{ id: string }[]>(
        `SELECT "id" FROM "entitlement"."customers" WHERE "name" = $1 ORDER BY "id"`,
        [`payer ${account}`],
      )
    ).map((r) => r.id);
  const subscriptionsOf = (
    customerId: string,
  ): Promise<{ plan_id: string; status: string; billing_interval: string }[]> =>
    fixture().dataSource.query(
      `SELECT "plan_id", "status", "billing_interval" FROM "entitlement"."subscriptions"
       WHERE "customer_id" = $1`,
      [customerId],
    );
  const leaseCount = () => count(`"entitlement"."leases"`);
  const refusal = domainRefusal;

  /** Exactly one customer, one active subscription (to planId), one account row, for account. */
  const expectOneCustomer = async (account: string, customerId: string, planId: string) => {
    expect(await customersNamed(account)).toEqual([customerId]);
    expect(await accountRows(account)).toEqual([{ customer_id: customerId }]);
    expect(await subscriptionsOf(customerId)).toEqual([
      { plan_id: planId, status: 'active', billing_interval: 'month' },
    ]);
  };

  return {
    record,
    check,
    payerPlan,
    newPayer,
    paymentOf,
    available,
    count,
    accountRows,
    customersNamed,
    subscriptionsOf,
    leaseCount,
    refusal,
    expectOneCustomer,
  };
}
