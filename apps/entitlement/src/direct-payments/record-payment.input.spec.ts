import { DomainError } from '@paygate/problem-details';
import {
  MAX_HOLD_MS,
  type RecordPaymentInput,
  checkHold,
  parseRecordPayment,
} from './record-payment.input';

const now = new Date('2026-01-01T00:00:00Z');

const valid: RecordPaymentInput = {
  customerId: '6f1c1f38-3f7e-4bd5-9a51-4c3c2f0a9b10',
  paymentId: 'eip155:8453:0xabc:0x01',
  credits: 10,
  network: 'eip155:8453',
  asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
  amount: '10000',
  payer: '0xabc',
  transaction: '0xdeadbeef',
  requestId: 'req-1',
};

const fieldsOf = (input: Partial<RecordPaymentInput>): string[] => {
  try {
    parseRecordPayment({ ...valid, ...input });
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('validation-failed');
    return ((err as DomainError).details.errors as { field: string }[]).map((e) => e.field);
  }
  return [];
};

describe('parseRecordPayment', () => {
  it('accepts a payment and turns an empty request id into null', () => {
    expect(parseRecordPayment(valid)).toEqual(valid);
    expect(parseRecordPayment({ ...valid, requestId: '' }).requestId).toBeNull();
    expect(parseRecordPayment({ ...valid, requestId: undefined }).requestId).toBeNull();
  });

  it('accepts amounts up to 78 digits, exactly as sent', () => {
    const amount = '9'.repeat(78);
    expect(parseRecordPayment({ ...valid, amount }).amount).toBe(amount);
    expect(parseRecordPayment({ ...valid, amount: '0' }).amount).toBe('0');
  });

  it.each([
    ['customerId', { customerId: 'not-a-uuid' }],
    ['customerId', { customerId: '' }],
    ['paymentId', { paymentId: '' }],
    ['paymentId', { paymentId: 'x'.repeat(513) }],
    ['credits', { credits: 0 }],
    ['credits', { credits: -1 }],
    ['credits', { credits: 1.5 }],
    ['credits', { credits: Number.MAX_SAFE_INTEGER + 1 }],
    ['credits', { credits: Number.NaN }],
    ['network', { network: '' }],
    ['network', { network: 'eip155' }],
    ['network', { network: 'EIP155:8453' }],
    ['network', { network: `eip155:${'1'.repeat(64)}` }],
    ['asset', { asset: '' }],
    ['amount', { amount: '' }],
    ['amount', { amount: '-1' }],
    ['amount', { amount: '01' }],
    ['amount', { amount: '1.5' }],
    ['amount', { amount: '1e3' }],
    ['amount', { amount: '1'.repeat(79) }],
    ['payer', { payer: '' }],
    ['transaction', { transaction: '' }],
    ['requestId', { requestId: 'r'.repeat(129) }],
  ] as [string, Partial<RecordPaymentInput>][])('refuses a bad %s: %j', (field, input) => {
    expect(fieldsOf(input)).toEqual([field]);
  });

  it('names every bad field at once', () => {
    const fields = fieldsOf({ credits: 0, amount: 'x', network: 'nope' });
    expect(fields).toEqual(['credits', 'network', 'amount']);
    expect(() => parseRecordPayment({ ...valid, credits: 0, amount: 'x' })).toThrow(
      /credits .*amount/,
    );
  });

  it('keeps the largest payment id', () => {
    const paymentId = 'p'.repeat(512);
    expect(parseRecordPayment({ ...valid, paymentId }).paymentId).toBe(paymentId);
  });

  describe('with an authorization (upto)', () => {
    const authorization = {
      holdUntilMs: now.getTime() + 60_000,
      protocol: 'x402',
      credential: 'eyJ4NDAyVmVyc2lvbiI6Mn0=',
      requirement: '{"scheme":"upto"}',
      amountPerUnit: '1000',
      amountPerCall: '0',
    };
    const upto = { ...valid, transaction: '', authorization };

    it('accepts it, with the hold end as a date and no transaction', () => {
      expect(parseRecordPayment(upto)).toEqual({
        ...valid,
        transaction: '',
        authorization: {
          ...authorization,
          holdUntilMs: undefined,
          holdUntil: new Date(authorization.holdUntilMs),
        },
      });
      const paymentAuth = { ...authorization, protocol: 'payment-auth' };
      expect(
        parseRecordPayment({ ...upto, authorization: paymentAuth }).authorization?.protocol,
      ).toBe('payment-auth');
    });

    it('leaves it out when absent (null, as proto3 sends it)', () => {
      expect(parseRecordPayment({ ...valid, authorization: null }).authorization).toBeUndefined();
    });

    it.each([
      ['transaction', {}, { transaction: '0xdeadbeef' }],
      ['authorization.holdUntilMs', { holdUntilMs: now.getTime() + 1.5 }, {}],
      ['authorization.holdUntilMs', { holdUntilMs: 0 }, {}],
      ['authorization.protocol', { protocol: 'x403' }, {}],
      ['authorization.credential', { credential: '' }, {}],
      ['authorization.credential', { credential: 'c'.repeat(16_385) }, {}],
      ['authorization.requirement', { requirement: '{not json' }, {}],
      ['authorization.requirement', { requirement: '' }, {}],
      ['authorization.amountPerUnit', { amountPerUnit: '-1' }, {}],
      ['authorization.amountPerCall', { amountPerCall: '1'.repeat(79) }, {}],
    ] as [string, object, Partial<RecordPaymentInput>][])(
      'refuses a bad %s',
      (field, terms, payment) => {
        const input = { ...upto, ...payment, authorization: { ...authorization, ...terms } };
        expect(fieldsOf(input as RecordPaymentInput)).toEqual([field]);
      },
    );

    it('checks that a new hold ends in the future, at most 24 h ahead', () => {
      const hold = (ms: number) => () =>
        checkHold({ ...parseRecordPayment(upto).authorization!, holdUntil: new Date(ms) }, now);
      expect(hold(now.getTime() + 1)).not.toThrow();
      expect(hold(now.getTime() + MAX_HOLD_MS)).not.toThrow();
      for (const ms of [now.getTime(), now.getTime() - 1, now.getTime() + MAX_HOLD_MS + 1]) {
        expect(hold(ms)).toThrow(DomainError);
        expect(hold(ms)).toThrow(/authorization\.holdUntilMs/);
      }
    });
  });
});
