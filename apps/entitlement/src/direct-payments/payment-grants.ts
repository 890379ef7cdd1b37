import { DomainError } from '@paygate/problem-details';
import type { EntityManager } from 'typeorm';
import type { GrantInput, GrantsService } from '../credits/grants.service';
import { directPayments } from './direct-payments.repository';

/**
 * The grant a payment makes: one per payment id (its idempotency key), attached to the
 * payment's row, in the caller's transaction.
 */
export async function grantPayment(
  grants: GrantsService,
  manager: EntityManager,
  paymentId: string,
  input: Omit<GrantInput, 'idempotencyKey'>,
): Promise<string> {
  const { grant, replayed } = await grants.create(manager, {
    ...input,
    idempotencyKey: `direct-payment:${paymentId}`,
  });
  // The grant's key is taken only with the payment's row, so this is another grant's key.
  if (replayed) {
    throw new DomainError(
      'conflict',
      `The grant key of payment ${paymentId} is already used by another grant.`,
    );
  }
  await directPayments.attachGrant(manager, paymentId, grant.id);
  return grant.id;
}

/**
 * The credits a settled charge bought: used when the payment is recorded settled, and when a
 * journaled one's settlement is reported (RecordPayment or CompleteSettlement), so a charge
 * grants its credits once whichever way it settles.
 */
export function grantCharge(
  grants: GrantsService,
  manager: EntityManager,
  payment: { paymentId: string; customerId: string; credits: number },
): Promise<string> {
  return grantPayment(grants, manager, payment.paymentId, {
    customerId: payment.customerId,
    amount: payment.credits,
    source: 'purchase',
    description: `direct payment ${payment.paymentId}`,
  });
}
