/**
 * A program paying its way through a priced route (docs/payments.md): no account, no API key,
 * only a wallet and a budget. It calls the gateway with the client library; each 402 it gets
 * carries offers, the wallet pays one with the offline test method (paygate:test: an Ed25519
 * voucher, settled by the gateway's test facilitator), and the client sends the call again
 * with the credential. Once the session budget is spent, the next 402 is the caller's to
 * handle: it is printed and the program stops.
 *
 *   npm run example:pay        (after npm start; GATEWAY_URL, default http://127.0.0.1:8080)
 *
 * Exits 0 when every call within the budget was served and the one past it was refused with a
 * 402, 1 otherwise.
 */
import { TestWallet } from '@paygate/payments';
import { PaymentRequiredError, createPaygateClient } from '../libs/client/src';

/** One credit costs 250 TEST on the demo's priced route (config/routes.demo.json). */
const PER_CALL = '250';
const CALLS_WITHIN_BUDGET = 3;

export async function payPerCallExample(
  gateway: string,
  log: (line: string) => void = console.log,
): Promise<{ served: number; spent: Record<string, string>; refusedAfterBudget: boolean }> {
  const wallet = TestWallet.generate();
  log(`wallet ${wallet.accountId} (offline test method)`);
  const client = createPaygateClient({
    baseUrl: gateway,
    payments: {
      maxPerCall: { 'paygate:test/TEST': PER_CALL },
      maxPerSession: {
        'paygate:test/TEST': String(BigInt(PER_CALL) * BigInt(CALLS_WITHIN_BUDGET)),
      },
      wallet: async ({ offers, paymentRequired }) => {
        const offer = offers.find((o) => o.network === 'paygate:test');
        if (!offer || !paymentRequired) return undefined;
        log(`  402: paying ${offer.amount} ${offer.asset} to ${offer.payTo}`);
        return { offer, headers: { 'payment-signature': wallet.payX402(paymentRequired) } };
      },
    },
  });
  let served = 0;
  for (let i = 1; i <= CALLS_WITHIN_BUDGET; i++) {
    const response = await client.fetch('/paid/hello');
    const receipt = response.headers.get('payment-response') ? 'with a payment receipt' : '';
    log(`call ${i}: ${response.status} ${receipt}`);
    await response.body?.cancel();
    if (response.ok) served++;
  }
  let refusedAfterBudget = false;
  try {
    const response = await client.fetch('/paid/hello');
    log(
      `call ${CALLS_WITHIN_BUDGET + 1}: ${response.status} (expected a 402: the budget is spent)`,
    );
    await response.body?.cancel();
  } catch (err) {
    if (!(err instanceof PaymentRequiredError)) throw err;
    refusedAfterBudget = true;
    log(`call ${CALLS_WITHIN_BUDGET + 1}: 402 ${err.code}: budget spent, not paid`);
  }
  const spent = client.paid();
  log(`spent: ${JSON.stringify(spent)}`);
  return { served, spent, refusedAfterBudget };
}

if (require.main === module) {
  payPerCallExample(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080')
    .then((result) => {
      process.exit(result.served === CALLS_WITHIN_BUDGET && result.refusedAfterBudget ? 0 : 1);
    })
    .catch((err: unknown) => {
      console.error('[pay-per-call-example] failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
