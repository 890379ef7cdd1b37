/**
 * Reads a payment credential from request headers, whichever protocol carried it:
 * `PAYMENT-SIGNATURE` (x402 v2; decoded by @x402/core, checked by its v2 schema) or
 * `Authorization: Payment …` (decoded by mppx). Anything unreadable comes back as
 * `{ error: 'malformed' }`, never as a throw: the header is attacker input.
 *
 * What the libraries do not know is the payload inside each envelope, which depends on the
 * network: the paygate:test voucher (ours), and on EVM the EIP-3009 / Permit2 authorization,
 * from which only the payer and the nonce are read here (the facilitator checks the rest).
 */
import { decodePaymentSignatureHeader } from '@x402/core/http';
import { PaymentPayloadV2Schema } from '@x402/core/schemas';
import { Credential, evm } from 'mppx';
import { isDecimalAmount } from './amount';
import {
  evmChainId,
  evmNetwork,
  EVM_PAYMENT_METHOD,
  intentOfScheme,
  isTestNetwork,
  TEST_NETWORK,
  TEST_PAYMENT_METHOD,
} from './networks';
import { parseTestVoucherPayload } from './test-voucher';
import { parseRfc3339 } from './time';
import type { MalformedPayment, ParsedPayment } from './types';

/** Largest credential header read, in characters; bigger ones are refused before decoding. */
export const MAX_CREDENTIAL_LENGTH = 8 * 1024;

export type HeaderBag = Record<string, string | string[] | undefined>;

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** An EIP-3009 bytes32 nonce (hex) or a Permit2 uint256 nonce (decimal). */
const EVM_NONCE = /^(0x[0-9a-fA-F]{64}|[0-9]{1,78})$/;
const MAX_FIELD = 2048;

function malformed(detail: string): MalformedPayment {
  return { error: 'malformed', detail };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShortString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_FIELD;
}

/** Every value of a header, names compared case-insensitively. */
function headerValues(headers: HeaderBag, name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    values.push(...(Array.isArray(value) ? value : [value]));
  }
  return values;
}

const PAYMENT_SCHEME = /^\s*payment(\s|$)/i;

interface Signer {
  payer: string;
  nonce: string;
  /** From when the signed payload is void, where it says (read here, checked by facilitators). */
  validBefore?: Date;
}

/** The latest time a Date holds (±8.64e15 ms from the epoch, year 275760). */
const LAST_DATE_MS = 8.64e15;

/**
 * A Unix time in seconds as EIP-3009 and Permit2 sign it (decimal string), as a Date. A time
 * past what a Date holds (EIP-3009 takes any uint256; wallets sign "never" as a huge one) is
 * the last Date: valid for as long as anything here can tell, where an Invalid Date would
 * turn every comparison with it false.
 */
function unixSeconds(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const seconds = Number(value);
  if (!Number.isSafeInteger(seconds) || seconds < 0) return undefined;
  return new Date(Math.min(seconds * 1000, LAST_DATE_MS));
}

/** The payer and nonce of a network's signed payload, or why it is not one. */
function payerAndNonce(network: string, payload: unknown): Signer | MalformedPayment {
  if (isTestNetwork(network)) {
    const voucher = parseTestVoucherPayload(payload);
    if (!voucher) return malformed('the payload is not a paygate:test voucher');
    return {
      payer: voucher.voucher.payer,
      nonce: voucher.voucher.nonce,
      validBefore: parseRfc3339(voucher.voucher.validBefore),
    };
  }
  if (evmChainId(network) !== undefined && isRecord(payload)) {
    // x402 `exact`/`upto` on EVM: EIP-3009 `authorization` or Permit2 `permit2Authorization`.
    const signed = payload.authorization ?? payload.permit2Authorization;
    if (isRecord(signed) && typeof signed.from === 'string' && EVM_ADDRESS.test(signed.from)) {
      const nonce = signed.nonce;
      if (typeof nonce === 'string' && EVM_NONCE.test(nonce)) {
        return {
          payer: signed.from,
          nonce,
          validBefore: unixSeconds(signed.validBefore ?? signed.deadline),
        };
      }
    }
    return malformed('the payload is not an EVM transfer authorization');
  }
  return malformed(`payments on network ${network} are not accepted`);
}

/**
 * `<network>:<payer>:<nonce>`. Nonces are single-use per signer (EIP-3009 and Permit2 keep
 * them per authorizer), so the payer is part of the key. EVM addresses and hex nonces are
 * case-insensitive, so they are lowercased: one payment must have one id.
 */
function paymentIdOf(network: string, signer: Signer): string {
  if (evmChainId(network) !== undefined) {
    return `${network}:${signer.payer.toLowerCase()}:${signer.nonce.toLowerCase()}`;
  }
  return `${network}:${signer.payer}:${signer.nonce}`;
}

function parseX402(header: string): ParsedPayment | MalformedPayment {
  const credential = header.trim();
  let decoded: unknown;
  try {
    decoded = decodePaymentSignatureHeader(credential);
  } catch {
    return malformed('PAYMENT-SIGNATURE is not base64-encoded JSON');
  }
  const parsed = PaymentPayloadV2Schema.safeParse(decoded);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return malformed(
      `PAYMENT-SIGNATURE is not an x402 v2 payment payload (${issue.path.join('.') || 'root'}: ${issue.message})`,
    );
  }
  const { accepted, payload } = parsed.data;
  const intent = intentOfScheme(accepted.scheme);
  if (!intent) {
    return malformed(`the x402 scheme ${accepted.scheme} is not accepted`);
  }
  if (!isDecimalAmount(accepted.amount)) {
    return malformed('the x402 amount is not a decimal integer');
  }
  if (![accepted.network, accepted.asset, accepted.payTo].every(isShortString)) {
    return malformed('the x402 network, asset or payTo is too long');
  }
  const signer = payerAndNonce(accepted.network, payload);
  if ('error' in signer) return signer;
  return {
    protocol: 'x402',
    intent,
    credential,
    ...(signer.validBefore ? { validBefore: signer.validBefore } : {}),
    network: accepted.network,
    asset: accepted.asset,
    payTo: accepted.payTo,
    amount: accepted.amount,
    payer: signer.payer,
    paymentId: paymentIdOf(accepted.network, signer),
    // The decoded header as sent (schema-checked above); zod's copy drops unknown members.
    raw: decoded,
  };
}

function parsePaymentAuth(header: string): ParsedPayment | MalformedPayment {
  let credential: ReturnType<typeof Credential.deserialize>;
  try {
    credential = Credential.deserialize(header.trim());
  } catch {
    return malformed('Authorization: Payment is not a base64url JSON payment credential');
  }
  const { challenge, payload } = credential;
  if (challenge.intent !== 'charge' && challenge.intent !== 'upto') {
    return malformed(`the Payment intent ${challenge.intent} is not accepted`);
  }
  const request = challenge.request;

  let network: string;
  if (challenge.method === TEST_PAYMENT_METHOD) {
    const details = request.methodDetails;
    if (!isRecord(details) || details.network !== TEST_NETWORK) {
      return malformed('the paygate challenge does not name the paygate:test network');
    }
    network = TEST_NETWORK;
  } else if (challenge.method === EVM_PAYMENT_METHOD && challenge.intent === 'charge') {
    // mppx's own schemas for the evm charge request and its authorization payload.
    const evmRequest = evm.ChargeRequestSchema.safeParse(request);
    if (!evmRequest.success || !evm.ChargePayloadSchema.safeParse(payload).success) {
      return malformed('the evm credential does not match the evm charge schemas');
    }
    network = evmNetwork(evmRequest.data.methodDetails.chainId);
  } else {
    return malformed(`the Payment method ${challenge.method}/${challenge.intent} is not accepted`);
  }

  const { amount, currency, recipient } = request;
  if (!isDecimalAmount(amount))
    return malformed('the Payment request amount is not a decimal integer');
  if (!isShortString(currency) || !isShortString(recipient)) {
    return malformed('the Payment request has no currency or recipient');
  }
  const signer = payerAndNonce(
    network,
    // mppx's evm payload is the EIP-3009 authorization itself, flat.
    challenge.method === EVM_PAYMENT_METHOD ? { authorization: payload } : payload,
  );
  if ('error' in signer) return signer;
  return {
    protocol: 'payment-auth',
    intent: challenge.intent,
    credential: header.trim(),
    ...(signer.validBefore ? { validBefore: signer.validBefore } : {}),
    challengeId: challenge.id,
    network,
    asset: currency,
    payTo: recipient,
    amount,
    payer: signer.payer,
    paymentId: paymentIdOf(network, signer),
    raw: credential,
  };
}

/**
 * The payment credential in these request headers: undefined when there is none (an
 * `Authorization` with another scheme is not ours), `{ error: 'malformed' }` when one is
 * there but unreadable, too large, repeated, or sent in both protocols at once.
 */
export function parsePaymentCredential(
  headers: HeaderBag,
): ParsedPayment | MalformedPayment | undefined {
  const signatures = headerValues(headers, 'payment-signature');
  const authorizations = headerValues(headers, 'authorization');
  const paymentAuth = authorizations.some((value) => PAYMENT_SCHEME.test(value));
  if (signatures.length > 1) return malformed('more than one PAYMENT-SIGNATURE header');
  if (signatures.length === 1 && paymentAuth) {
    return malformed('both PAYMENT-SIGNATURE and Authorization: Payment were sent');
  }
  if (signatures.length === 1) {
    const [signature] = signatures;
    if (signature.length > MAX_CREDENTIAL_LENGTH) {
      return malformed(`PAYMENT-SIGNATURE is longer than ${MAX_CREDENTIAL_LENGTH} characters`);
    }
    return parseX402(signature);
  }
  if (!paymentAuth) return undefined;
  if (authorizations.length > 1) return malformed('more than one Authorization header');
  const [authorization] = authorizations;
  if (authorization.length > MAX_CREDENTIAL_LENGTH) {
    return malformed(`Authorization is longer than ${MAX_CREDENTIAL_LENGTH} characters`);
  }
  return parsePaymentAuth(authorization);
}

/** The request headers that carry a credential again (to settle an `upto` authorization later). */
export function credentialHeaders(
  protocol: ParsedPayment['protocol'],
  credential: string,
): Record<string, string> {
  return protocol === 'x402' ? { 'payment-signature': credential } : { authorization: credential };
}
