// Shared setup for the payments specs: a fixed clock, a payee, and a requirement offering the
// test network and an EVM chain.
import type { PaymentRequirement } from '../../libs/payments/src/types';
import { TestWallet } from '../../libs/payments/src/test-wallet';

export const NOW = new Date('2026-03-01T12:00:00Z');
export const SECRET = 'a-long-enough-challenge-secret';
export const REALM = 'gateway.example';
export const USDC_BASE = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913';
export const EVM_PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';

export const payee = TestWallet.fromSeed('payee');

/** The x402 offer (`accepted`) of 3000 USDC units on Base that the EVM specs pay. */
export const EVM_ACCEPTED = {
  scheme: 'exact',
  network: 'eip155:8453' as const,
  amount: '3000',
  asset: USDC_BASE,
  payTo: EVM_PAY_TO,
  maxTimeoutSeconds: 300,
  extra: { name: 'USD Coin', version: '2' },
};

export function requirement(overrides: Partial<PaymentRequirement> = {}): PaymentRequirement {
  return {
    resource: 'https://gateway.example/api/reports?period=2026-02',
    description: 'Monthly report',
    units: 3,
    intent: 'charge',
    expiresAt: new Date(NOW.getTime() + 5 * 60_000),
    assets: [
      { network: 'paygate:test', asset: 'credit', payTo: payee.address, amountPerUnit: '100' },
      {
        network: 'eip155:8453',
        asset: USDC_BASE,
        payTo: EVM_PAY_TO,
        amountPerUnit: '1000',
        extra: { name: 'USD Coin', version: '2' },
      },
    ],
    ...overrides,
  };
}

/** A wallet whose clock is `at` (NOW by default). */
export function walletAt(seed: string, at: Date = NOW): TestWallet {
  return TestWallet.fromSeed(seed, { now: () => at });
}

/** Decodes an `Authorization: Payment` value, edits the credential JSON, re-encodes it. */
export function editCredential(
  authorization: string,
  edit: (credential: {
    challenge: Record<string, unknown>;
    payload: { voucher: Record<string, string>; signature: string };
  }) => void,
): string {
  const json = JSON.parse(
    Buffer.from(authorization.replace(/^Payment\s+/, ''), 'base64url').toString('utf8'),
  );
  edit(json);
  return `Payment ${Buffer.from(JSON.stringify(json)).toString('base64url')}`;
}

/** The JSON of a test-network PAYMENT-SIGNATURE, for editing. */
export interface X402Json {
  x402Version: number;
  accepted: Record<string, unknown>;
  payload: { voucher: Record<string, string>; signature: string };
  [member: string]: unknown;
}

/** Decodes a PAYMENT-SIGNATURE value, edits the payload JSON, re-encodes it. */
export function editX402(header: string, edit: (payload: X402Json) => void): string {
  const json = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  edit(json);
  return Buffer.from(JSON.stringify(json)).toString('base64');
}
