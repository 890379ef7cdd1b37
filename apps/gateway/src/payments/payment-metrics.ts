import type { Logger } from '@nestjs/common';
import { counter } from '@paygate/observability';
import type { ParsedPayment } from '@paygate/payments';
import type { PaymentOutcome } from './payment-outcome';

export const payments = counter(
  'paygate_gateway_payments_total',
  'Payment credentials sent with requests, by outcome',
  ['outcome'],
);

/** The facilitator or the ledger could not answer: 503, and the same payment may be retried. */
export function paymentUnavailable(
  logger: Logger,
  payment: ParsedPayment,
  step: string,
  err: unknown,
): PaymentOutcome {
  payments.inc({ outcome: 'unavailable' });
  logger.warn(
    { err: (err as Error).message, step, network: payment.network },
    'payment could not be completed',
  );
  return {
    kind: 'refused',
    problem: { code: 'payment-unavailable', headers: { 'retry-after': '1' } },
  };
}
