/**
 * A payer on paygate:test, for demos and tests: an Ed25519 key that answers a 402 in either
 * protocol. The envelopes are the libraries' (x402 headers decoded and encoded by @x402/core,
 * Payment challenges parsed and credentials serialized by mppx); only the voucher inside is
 * ours (see test-voucher.ts).
 *
 * Synchronous on purpose: @x402/core's x402Client and mppx's Method.toClient also pick an offer
 * and build the payload, but both are async plugin frameworks, and a test wallet needs neither
 * their plugin registry nor their spending policy.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import { PaymentRequiredV2Schema } from '@x402/core/schemas';
import { Challenge, Credential } from 'mppx';
import { isDecimalAmount } from './amount';
import { intentOfScheme, TEST_NETWORK, TEST_PAYMENT_METHOD } from './networks';
import { signTestVoucher, testAddressOf, TestVoucher } from './test-voucher';
import { parseRfc3339, toRfc3339 } from './time';

export interface TestWalletOptions {
  /** The wallet's clock, for voucher validity; defaults to the system clock. */
  now?: () => Date;
}

export interface PayOptions {
  /** Refuse offers above this amount (smallest unit). */
  maxAmount?: bigint;
  /** Take only offers of this intent (`upto`: an authorization of at most the amount). */
  intent?: 'charge' | 'upto';
}

function ofIntent(intent: string | undefined, options: PayOptions | undefined): boolean {
  return options?.intent === undefined || intent === options.intent;
}

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function withinLimit(amount: unknown, options: PayOptions | undefined): amount is string {
  if (!isDecimalAmount(amount)) return false;
  return options?.maxAmount === undefined || BigInt(amount) <= options.maxAmount;
}

export class TestWallet {
  /** Lowercase hex of the raw Ed25519 public key; see test-voucher.ts. */
  readonly address: string;

  private constructor(
    private readonly privateKey: KeyObject,
    private readonly now: () => Date,
  ) {
    this.address = testAddressOf(createPublicKey(privateKey));
  }

  /** A wallet with a fresh random key. */
  static generate(options: TestWalletOptions = {}): TestWallet {
    const { privateKey } = generateKeyPairSync('ed25519');
    return new TestWallet(privateKey, options.now ?? (() => new Date()));
  }

  /**
   * The same wallet every time: a 32-byte seed is the Ed25519 private key itself; a string
   * seed (`'alice'`) is hashed with SHA-256 into one, which is fine for a test network only.
   */
  static fromSeed(seed: Uint8Array | string, options: TestWalletOptions = {}): TestWallet {
    const bytes =
      typeof seed === 'string' ? createHash('sha256').update(seed, 'utf8').digest() : seed;
    if (bytes.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
    const key = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, bytes]),
      format: 'der',
      type: 'pkcs8',
    });
    return new TestWallet(key, options.now ?? (() => new Date()));
  }

  /** The CAIP-10 account id: `paygate:test:<address>`. */
  get accountId(): string {
    return `${TEST_NETWORK}:${this.address}`;
  }

  private voucher(
    offer: { asset: string; payTo: string; amount: string },
    validBefore: string,
    challengeId?: string,
  ): TestVoucher {
    return {
      network: TEST_NETWORK,
      asset: offer.asset,
      payTo: offer.payTo,
      amount: offer.amount,
      payer: this.address,
      nonce: randomBytes(16).toString('base64url'),
      validBefore,
      ...(challengeId !== undefined ? { challengeId } : {}),
    };
  }

  /**
   * Pays the first paygate:test offer of a `PAYMENT-REQUIRED` header (within maxAmount) and
   * returns the `PAYMENT-SIGNATURE` value. The voucher is valid for the offer's
   * maxTimeoutSeconds. Throws when the header is not x402 v2 or has no such offer.
   */
  payX402(paymentRequiredHeader: string, options?: PayOptions): string {
    const paymentRequired = decodePaymentRequiredHeader(paymentRequiredHeader);
    const checked = PaymentRequiredV2Schema.safeParse(paymentRequired);
    if (!checked.success) throw new Error('PAYMENT-REQUIRED is not an x402 v2 PaymentRequired');
    const index = checked.data.accepts.findIndex(
      (offer) =>
        offer.network === TEST_NETWORK &&
        intentOfScheme(offer.scheme) !== undefined &&
        ofIntent(intentOfScheme(offer.scheme), options) &&
        withinLimit(offer.amount, options),
    );
    if (index < 0) throw new Error('no paygate:test offer within the limit');
    const offer = checked.data.accepts[index];
    const validBefore = toRfc3339(new Date(this.now().getTime() + offer.maxTimeoutSeconds * 1000));
    const payload = signTestVoucher(this.voucher(offer, validBefore), this.privateKey);
    return encodePaymentSignatureHeader({
      x402Version: 2,
      resource: paymentRequired.resource,
      // Echoed as received, not zod's copy (which drops members it does not know).
      accepted: paymentRequired.accepts[index],
      payload: { ...payload },
    });
  }

  /**
   * Answers the first paygate Payment challenge in a `WWW-Authenticate` value (several
   * challenges, or several header values, are fine) and returns the `Authorization` value.
   * The voucher is valid until the challenge expires. Throws when there is no such challenge
   * or it has expired.
   */
  payChallenge(wwwAuthenticate: string | string[], options?: PayOptions): string {
    const value = Array.isArray(wwwAuthenticate) ? wwwAuthenticate.join(', ') : wwwAuthenticate;
    const challenge = Challenge.deserializeList(value).find((candidate) => {
      const details = candidate.request.methodDetails as { network?: unknown } | undefined;
      return (
        candidate.method === TEST_PAYMENT_METHOD &&
        (candidate.intent === 'charge' || candidate.intent === 'upto') &&
        ofIntent(candidate.intent, options) &&
        details?.network === TEST_NETWORK &&
        typeof candidate.request.currency === 'string' &&
        typeof candidate.request.recipient === 'string' &&
        withinLimit(candidate.request.amount, options)
      );
    });
    if (!challenge) throw new Error('no paygate Payment challenge within the limit');
    const expires = parseRfc3339(challenge.expires);
    if (!expires || expires.getTime() <= this.now().getTime()) {
      throw new Error('the Payment challenge has expired');
    }
    const request = challenge.request as { amount: string; currency: string; recipient: string };
    const payload = signTestVoucher(
      this.voucher(
        { asset: request.currency, payTo: request.recipient, amount: request.amount },
        toRfc3339(expires),
        challenge.id,
      ),
      this.privateKey,
    );
    return Credential.serialize(
      Credential.from({ challenge, payload, source: `did:pkh:${this.accountId}` }),
    );
  }
}
