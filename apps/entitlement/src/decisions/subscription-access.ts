import type { ProblemCode } from '@paygate/contracts';
import type { SubscriptionStatus } from '../subscriptions/subscription.entity';

/**
 * Which statuses admit requests, and which 402 explains the others. 402 means paying would
 * fix it: each of these is resolved by renewing, paying, or settling the account.
 */
export function accessDeniedBy(status: SubscriptionStatus): ProblemCode | null {
  switch (status) {
    case 'trialing':
    case 'active':
      return null;
    case 'incomplete':
      return 'payment-pending';
    case 'past_due':
      return 'subscription-past-due';
    case 'unpaid':
    case 'suspended':
      return 'account-suspended';
    case 'canceled':
    case 'expired':
      return 'subscription-expired';
  }
}
