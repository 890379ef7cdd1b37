import { Injectable, Logger } from '@nestjs/common';
import type { ParsedPayment, PaymentRequirement } from '@paygate/payments';
import { EntitlementClient } from '../decisions/entitlement.client';
import { UPTO_SETTLE_MARGIN_SECONDS } from '../routes/route-table';

/**
 * An authorization's hold ends this long before its signed payload stops being valid at the
 * latest: time for the settlement loop to pick it up and the facilitator to answer.
 */
const SETTLE_MARGIN_MS = UPTO_SETTLE_MARGIN_SECONDS * 1000;
/** A hold shorter than this is refused: the payment expires too soon to be used. */
export const MIN_HOLD_MS = 1_000;

/** When an authorization's hold ends: after holdSeconds, or earlier if its payload expires. */
export function holdEnd(payment: ParsedPayment, holdSeconds: number, now: Date): number {
  const wanted = now.getTime() + holdSeconds * 1000;
  const valid = payment.validBefore ? payment.validBefore.getTime() - SETTLE_MARGIN_MS : wanted;
  return Math.min(wanted, valid);
}

/** What an `upto` credential sent with a request became. */
export type AuthorizationOutcome =
  /** A new authorization: its credits are the customer's until holdUntil. */
  | { kind: 'opened'; customerId: string; holdUntil: number }
  /** The same credential again, within its hold: decided on what is left of it. */
  | { kind: 'reused'; customerId: string }
  /** Spent: its hold ended (or another customer sent it). */
  | { kind: 'replayed' };

/**
 * `upto` payments (docs/payments.md): a verified authorization is recorded, not settled. The
 * entitlement service grants its credits until the hold ends, then UptoSettlements settles
 * what was used. Whom it credits: a keyed customer, or (anonymous) the payer plan's account.
 */
@Injectable()
export class UptoAuthorizations {
  private readonly logger = new Logger(UptoAuthorizations.name);

  constructor(private readonly entitlement: EntitlementClient) {}

  /** @throws EntitlementUnavailableError / EntitlementRefusedError from RecordPayment. */
  async open(
    requestId: string,
    payer: { customerId: string } | { payerPlan: string },
    payment: ParsedPayment,
    credits: number,
    price: { amountPerUnit: string; amountPerCall?: string },
    requirement: PaymentRequirement,
    holdUntil: number,
  ): Promise<AuthorizationOutcome> {
    const recorded = await this.entitlement.recordPayment({
      ...('customerId' in payer ? payer : { customerId: '', payerPlan: payer.payerPlan }),
      paymentId: payment.paymentId,
      credits,
      network: payment.network,
      asset: payment.asset,
      amount: payment.amount,
      payer: payment.payer,
      transaction: '',
      requestId,
      authorization: {
        holdUntilMs: holdUntil,
        protocol: payment.protocol,
        credential: payment.credential,
        requirement: JSON.stringify(requirement),
        amountPerUnit: price.amountPerUnit,
        amountPerCall: price.amountPerCall ?? '0',
      },
    });
    const customerId = recorded.customerId || ('customerId' in payer ? payer.customerId : '');
    if (recorded.replayed) {
      return recorded.authorizationOpen ? { kind: 'reused', customerId } : { kind: 'replayed' };
    }
    this.logger.log(
      {
        requestId,
        customerId,
        network: payment.network,
        authorized: payment.amount,
        credits,
        holdUntil: new Date(holdUntil).toISOString(),
      },
      'payment authorized',
    );
    return { kind: 'opened', customerId, holdUntil };
  }
}
