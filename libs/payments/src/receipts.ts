/**
 * The headers of a paid response: x402's `PAYMENT-RESPONSE` (encoded by @x402/core) and the
 * Payment auth scheme's `Payment-Receipt` (built and encoded by mppx). Both are for success
 * only; a failed payment is answered with 402 and fresh challenges instead.
 */
import { encodePaymentResponseHeader } from '@x402/core/http';
import type { SettleResponse } from '@x402/core/types';
import { Receipt } from 'mppx';
import { receiptMethod } from './networks';
import type { ParsedPayment, Settlement } from './types';

/** The x402 `PAYMENT-RESPONSE` value (a SettlementResponse with `success: true`). */
export function paymentResponseHeader(settlement: Settlement): string {
  const response: SettleResponse = {
    success: true,
    transaction: settlement.transaction,
    network: settlement.network as SettleResponse['network'],
    payer: settlement.payer,
    amount: settlement.amount,
  };
  return encodePaymentResponseHeader(response);
}

/** The `Payment-Receipt` value: method, reference (the transaction), status, timestamp. */
export function paymentReceiptHeader(settlement: Settlement): string {
  return Receipt.serialize(
    Receipt.from({
      method: receiptMethod(settlement.network),
      reference: settlement.transaction,
      status: 'success',
      timestamp: (settlement.settledAt ?? new Date()).toISOString(),
    }),
  );
}

/** The receipt header in the protocol the payment came in. */
export function receiptHeaders(
  payment: ParsedPayment,
  settlement: { transaction: string; settledAt?: Date },
): Record<string, string> {
  const settled: Settlement = { ...payment, ...settlement };
  return payment.protocol === 'x402'
    ? { 'PAYMENT-RESPONSE': paymentResponseHeader(settled) }
    : { 'Payment-Receipt': paymentReceiptHeader(settled) };
}
