import { SUBSCRIPTION_STATUSES } from '../subscriptions/subscription.entity';
import { accessDeniedBy } from './subscription-access';

describe('accessDeniedBy', () => {
  it('admits trialing and active subscriptions only', () => {
    const admitted = SUBSCRIPTION_STATUSES.filter((s) => accessDeniedBy(s) === null);
    expect(admitted).toEqual(['trialing', 'active']);
  });

  it('explains every other status with a 402 problem code', () => {
    expect(accessDeniedBy('past_due')).toBe('subscription-past-due');
    expect(accessDeniedBy('unpaid')).toBe('account-suspended');
    expect(accessDeniedBy('suspended')).toBe('account-suspended');
    expect(accessDeniedBy('canceled')).toBe('subscription-expired');
    expect(accessDeniedBy('expired')).toBe('subscription-expired');
  });
});
