import { DomainError } from '@paygate/problem-details';
import type { EntityManager } from 'typeorm';
import type { GrantsService } from '../credits/grants.service';
import { directPayments } from './direct-payments.repository';

/**
 * The credits a settled charge bought: one purchase grant per payment id (its idempotency key),
 * attached to the payment's row, in the caller's transaction. Used when the payment is recorded
 * settled, and when a journaled one's settlement is reported (RecordPayment or
 * CompleteSettlement), so a charge grants its credits once whichever way it settles.
 */
export async function grantCharge(
  grants: GrantsService,
  manager: EntityManager,
  payment: { paymentId: string; customerId: string; credits: number },
): Promise<string> {
  const { grant, replayed } = await grants.create(manager, {
    customerId: payment.customerId,
    amount: payment.credits,
    idempotencyKey: `direct-payment:${payment.paymentId}`,
    source: 'purchase',
    description: `direct payment ${payment.paymentId}`,
  });
  // The grant's key is taken only with the payment's row, so this is another grant's key.
  if (replayed) {
    throw new DomainError(
      'conflict',
      `The grant key of payment ${payment.paymentId} is already used by another grant.`,
    );
  }
  await directPayments.attachGrant(manager, payment.paymentId, grant.id);
  return grant.id;
}
