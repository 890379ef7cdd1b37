import type { InboundMessage } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import type { GatewayConfig } from '../config/gateway.config';
import { EntitlementChangesListener } from './entitlement-changes.listener';
import type { LeasesService } from './leases.service';

/** The listener's handler, open to the test. */
class OpenListener extends EntitlementChangesListener {
  apply(messages: InboundMessage[]): Promise<void> {
    return this.handle(messages);
  }
}

const message = (value: unknown, offset = '0'): InboundMessage => ({
  topic: 'entitlement-changed',
  partition: 0,
  offset,
  key: null,
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
  timestamp: '0',
});

const change = (reason: string, extra: Record<string, unknown> = {}) => ({
  id: 'e-1',
  customerId: 'cust-1',
  reason,
  occurredAt: '2026-12-06T00:00:00Z',
  ...extra,
});

describe('EntitlementChangesListener', () => {
  const forgets: unknown[][] = [];
  const leases = {
    forgetCustomer: async (...args: unknown[]) => void forgets.push(args),
  } as unknown as LeasesService;
  const listener = new OpenListener(testConfig() as unknown as GatewayConfig, leases);
  beforeEach(() => (forgets.length = 0));

  it('forgets the customer of a change that can alter a decision, with its transaction', async () => {
    await listener.apply([
      message(change('subscription-changed', { transactionId: '7042', databaseRun: '17.5' })),
      message(change('customer-changed', { transactionId: '7043' })),
      message(change('api-key-revoked')),
    ]);
    expect(forgets).toEqual([
      ['cust-1', 'subscription-changed', { id: '7042', databaseRun: '17.5' }],
      // Without the database run the transaction id compares with nothing: as good as none.
      ['cust-1', 'customer-changed', undefined],
      ['cust-1', 'api-key-revoked', undefined],
    ]);
  });

  it('skips what cannot alter a lease, and what it cannot read, without stopping', async () => {
    await listener.apply([
      message(change('credits-granted', { transactionId: '1' })),
      message('{not json'),
      message(change('customer-changed', { transactionId: 7042, databaseRun: '17.5' }), '2'),
    ]);
    // A transaction that is not text is as good as none: the leases are dropped.
    expect(forgets).toEqual([['cust-1', 'customer-changed', undefined]]);
  });
});
