import type { RecordPaymentRequest, RecordPaymentResponse } from '@paygate/contracts';
import { status } from '@grpc/grpc-js';
import {
  type EntitlementClient,
  EntitlementRefusedError,
  EntitlementUnavailableError,
} from '../decisions/entitlement.client';
import { UncreditedPayments } from './uncredited-payments';

const record: RecordPaymentRequest = {
  customerId: 'c-1',
  paymentId: 'eip155:8453:0xabc:0x01',
  credits: 3,
  network: 'eip155:8453',
  asset: '0xusdc',
  amount: '3000',
  payer: '0xabc',
  transaction: '0xtx',
  requestId: 'r-1',
};
const answer: RecordPaymentResponse = {
  replayed: false,
  grantId: 'g-1',
  balance: 3,
  customerId: 'c-1',
};

/** An entitlement client whose recordPayment answers from a script, one entry per call. */
function client(script: Array<'down' | 'refused' | 'ok'>) {
  const calls: RecordPaymentRequest[] = [];
  const entitlement = {
    recordPayment: async (request: RecordPaymentRequest) => {
      calls.push(request);
      const next = script.shift() ?? 'ok';
      if (next === 'down') throw new EntitlementUnavailableError('unavailable');
      if (next === 'refused') throw new EntitlementRefusedError(status.NOT_FOUND, 'no customer');
      return answer;
    },
  } as unknown as EntitlementClient;
  return { entitlement, calls };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('UncreditedPayments', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('retries the credit with backoff until the service answers, then keeps it for the retry', async () => {
    const { entitlement, calls } = client(['down', 'down', 'ok']);
    const payments = new UncreditedPayments(entitlement);
    payments.add('cred', record);
    expect(payments.find(record.paymentId, 'cred')).toEqual({ kind: 'settled', record });
    // Another credential with the same id finds nothing: only the bytes that paid count.
    expect(payments.find(record.paymentId, 'other')).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(2000);
    expect(calls).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(4000);
    await settle();
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c === record)).toBe(true);
    expect(payments.find(record.paymentId, 'cred')).toEqual({
      kind: 'credited',
      record,
      response: answer,
    });
    payments.done(record.paymentId);
    expect(payments.size).toBe(0);
  });

  it('stops on a refusal (retrying would not help) and when the request credited it itself', async () => {
    const refused = client(['refused']);
    const first = new UncreditedPayments(refused.entitlement);
    first.add('cred', record);
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(first.size).toBe(0);

    const later = client([]);
    const second = new UncreditedPayments(later.entitlement);
    second.add('cred', record);
    second.done(record.paymentId);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(later.calls).toHaveLength(0);
  });

  it('gives up after 15 minutes of an absent service', async () => {
    const { entitlement, calls } = client(Array(100).fill('down'));
    const payments = new UncreditedPayments(entitlement);
    payments.add('cred', record);
    await jest.advanceTimersByTimeAsync(16 * 60_000);
    await settle();
    expect(payments.size).toBe(0);
    // 1, 2, 4, 8, 16 s, then every 30 s for the rest of the 15 minutes.
    expect(calls.length).toBeGreaterThan(25);
    expect(calls.length).toBeLessThan(40);
  });
});
