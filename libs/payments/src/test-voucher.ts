/**
 * The paygate:test voucher: what a test wallet signs and the test facilitator checks.
 *
 * Written by hand because it is ours: no library defines a payment method for a local test
 * network. It sits inside the libraries' envelopes (the x402 PaymentPayload `payload`, the
 * Payment-auth credential `payload`), which @x402/core and mppx encode.
 *
 * - Address: the lowercase hex of the payer's raw 32-byte Ed25519 public key (64 characters).
 *   Hex rather than base64url because CAIP-10 account addresses allow `[-.%a-zA-Z0-9]` only;
 *   the CAIP-10 account id is `paygate:test:<address>`.
 * - Signature: Ed25519 over `paygate-test-voucher/1\n` + the voucher as JCS (RFC 8785) JSON,
 *   base64url without padding. The voucher holds strings only, so JCS is JSON.stringify with
 *   the keys sorted by UTF-16 code unit.
 */
import { createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { isDecimalAmount } from './amount';
import { TEST_NETWORK } from './networks';
import { parseRfc3339 } from './time';

export interface TestVoucher {
  network: typeof TEST_NETWORK;
  asset: string;
  payTo: string;
  /** Smallest-unit decimal string. For `upto`, the most the payer allows. */
  amount: string;
  /** The payer's address (hex public key); the signature must verify under it. */
  payer: string;
  /** Random, unique per payment: 16 to 64 base64url characters. */
  nonce: string;
  /** RFC 3339 instant from which the voucher is void. */
  validBefore: string;
  /**
   * The Payment challenge answered (payment-auth only), binding the voucher to it as mppx's
   * evm method binds its EIP-3009 nonce to the challenge. Like an x402 EVM authorization, an
   * x402 voucher binds the money (network, asset, recipient, amount, time, nonce) and not the
   * resource URL.
   */
  challengeId?: string;
}

export interface TestVoucherPayload {
  voucher: TestVoucher;
  /** base64url Ed25519 signature (64 bytes). */
  signature: string;
}

const SIGNING_PREFIX = 'paygate-test-voucher/1\n';
const ADDRESS = /^[0-9a-f]{64}$/;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{86}$/;
const MAX_FIELD = 2048;
const VOUCHER_KEYS = new Set([
  'network',
  'asset',
  'payTo',
  'amount',
  'payer',
  'nonce',
  'validBefore',
  'challengeId',
]);
const REQUIRED_KEYS = [...VOUCHER_KEYS].filter((key) => key !== 'challengeId');

export function isTestAddress(value: unknown): value is string {
  return typeof value === 'string' && ADDRESS.test(value);
}

/** The address of an Ed25519 public key: hex of its raw 32 bytes. */
export function testAddressOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new TypeError('not an Ed25519 public key');
  }
  return Buffer.from(jwk.x, 'base64url').toString('hex');
}

function publicKeyOf(address: string): KeyObject | undefined {
  try {
    const x = Buffer.from(address, 'hex').toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

function signingInput(voucher: TestVoucher): Buffer {
  const entries = Object.entries(voucher)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(SIGNING_PREFIX + JSON.stringify(Object.fromEntries(entries)), 'utf8');
}

export function signTestVoucher(voucher: TestVoucher, privateKey: KeyObject): TestVoucherPayload {
  const signature = sign(null, signingInput(voucher), privateKey).toString('base64url');
  return { voucher, signature };
}

/** True when the signature is the payer's over exactly this voucher. */
export function verifyTestVoucher(payload: TestVoucherPayload): boolean {
  const publicKey = publicKeyOf(payload.voucher.payer);
  if (!publicKey) return false;
  try {
    return verify(
      null,
      signingInput(payload.voucher),
      publicKey,
      Buffer.from(payload.signature, 'base64url'),
    );
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The voucher payload, if `value` has exactly its shape; never throws. */
export function parseTestVoucherPayload(value: unknown): TestVoucherPayload | undefined {
  if (!isRecord(value) || Object.keys(value).length !== 2) return undefined;
  const { voucher, signature } = value;
  if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return undefined;
  if (!isRecord(voucher)) return undefined;
  for (const [key, field] of Object.entries(voucher)) {
    if (!VOUCHER_KEYS.has(key) || typeof field !== 'string' || field.length > MAX_FIELD) {
      return undefined;
    }
  }
  if (!REQUIRED_KEYS.every((key) => typeof voucher[key] === 'string')) return undefined;
  const v = voucher as unknown as TestVoucher;
  if (
    v.network !== TEST_NETWORK ||
    !isDecimalAmount(v.amount) ||
    !ADDRESS.test(v.payer) ||
    !NONCE.test(v.nonce) ||
    parseRfc3339(v.validBefore) === undefined ||
    (v.challengeId !== undefined && v.challengeId.length === 0)
  ) {
    return undefined;
  }
  return { voucher: { ...v }, signature };
}
