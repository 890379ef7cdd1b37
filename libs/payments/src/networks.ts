/**
 * Networks, and how each maps onto the two protocols: the x402 scheme for an intent, and the
 * Payment-auth method id for a network.
 */
import { evm } from 'mppx';
import type { PaymentRequirement } from './types';

/**
 * The built-in test network (a valid CAIP-2 id: namespace `paygate`, reference `test`).
 * Vouchers are signed by a local Ed25519 key and settle into an in-memory ledger, so demos
 * and tests run offline. Facilitators refuse it unless it is enabled.
 */
export const TEST_NETWORK = 'paygate:test';

/**
 * The Payment-auth method id for paygate:test. The draft's method ids are `1*LOWERALPHA`, so
 * the CAIP-2 id itself (with its colon) cannot be one; the network travels in
 * `request.methodDetails.network` instead, the way mppx's `evm` method carries `chainId`.
 */
export const TEST_PAYMENT_METHOD = 'paygate';

/** mppx's method id for EVM chains (`evm`, draft-evm-charge). */
export const EVM_PAYMENT_METHOD: string = evm.paymentMethod;

const EIP155 = /^eip155:([1-9][0-9]{0,15})$/;

export function isTestNetwork(network: string): boolean {
  return network === TEST_NETWORK;
}

/** The EIP-155 chain id of an `eip155:<id>` network, or undefined. */
export function evmChainId(network: string): number | undefined {
  const match = EIP155.exec(network);
  if (!match) return undefined;
  const chainId = Number(match[1]);
  return Number.isSafeInteger(chainId) ? chainId : undefined;
}

/** `eip155:<chainId>`, as mppx writes it. */
export function evmNetwork(chainId: number): string {
  return evm.networkOf(chainId);
}

/** The x402 scheme for an intent: `exact` for a charge, `upto` for a capped authorization. */
export function x402Scheme(intent: PaymentRequirement['intent']): 'exact' | 'upto' {
  return intent === 'charge' ? 'exact' : 'upto';
}

/** The intent behind an x402 scheme, or undefined for a scheme this lib does not take. */
export function intentOfScheme(scheme: string): PaymentRequirement['intent'] | undefined {
  if (scheme === 'exact') return 'charge';
  if (scheme === 'upto') return 'upto';
  return undefined;
}

/**
 * The Payment-auth method that can carry a payment on this network with this intent, or
 * undefined when there is none: mppx's `evm` method defines only the `charge` intent, so an
 * EVM `upto` offer goes out over x402 alone. The test method takes both intents.
 */
export function paymentAuthMethod(
  network: string,
  intent: PaymentRequirement['intent'],
): string | undefined {
  if (isTestNetwork(network)) return TEST_PAYMENT_METHOD;
  if (evmChainId(network) !== undefined && intent === 'charge') return EVM_PAYMENT_METHOD;
  return undefined;
}

/** The method id a Payment-Receipt names for a settlement on this network. */
export function receiptMethod(network: string): string {
  if (isTestNetwork(network)) return TEST_PAYMENT_METHOD;
  if (evmChainId(network) !== undefined) return EVM_PAYMENT_METHOD;
  // Payment-auth method ids are lowercase letters; the CAIP-2 namespace is the closest name.
  return network.split(':')[0].replace(/[^a-z]/g, '') || 'unknown';
}
