import type { RecordPaymentRequest } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';

/**
 * A settled `exact` payment for RecordPayment, unique per call (its id, transaction and
 * request id carry a fresh nonce): 7 credits for 7 USD on the test network unless `terms`
 * say otherwise.
 */
export function testPayment(
  customerId: string,
  terms: Partial<RecordPaymentRequest> = {},
): RecordPaymentRequest {
  const nonce = randomUUID();
  return {
    customerId,
    paymentId: `paygate:test:0xpayer:${nonce}`,
    credits: 7,
    network: 'paygate:test',
    asset: 'USD',
    amount: '7000000',
    payer: '0xpayer',
    transaction: `tx-${nonce}`,
    requestId: `req-${nonce}`,
    ...terms,
  };
}
