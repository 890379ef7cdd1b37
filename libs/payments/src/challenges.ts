/**
 * The 402 side: one PaymentRequirement turned into the offers of both protocols, and the
 * stateless check of a Payment challenge id when it comes back.
 *
 * - x402 v2: the `PAYMENT-REQUIRED` header, encoded by @x402/core.
 * - Payment auth scheme (draft-ryan-httpauth-payment-01): one `WWW-Authenticate: Payment …`
 *   challenge per offer that has a Payment method, built and serialized by mppx. mppx also
 *   computes the id the way the draft recommends: base64url HMAC-SHA256 under our secret over
 *   `realm|method|intent|request|expires|digest|opaque` (JCS request; the last two empty here),
 *   so the server keeps nothing to recognise its own challenges.
 */
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { encodePaymentRequiredHeader } from '@x402/core/http';
import { Challenge, evm } from 'mppx';
import { totalAmount } from './amount';
import { evmChainId, isTestNetwork, paymentAuthMethod, TEST_NETWORK, x402Scheme } from './networks';
import { parseRfc3339, toRfc3339 } from './time';
import type { PayableAsset, ParsedPayment, PaymentRequirement } from './types';

export interface ChallengeOptions {
  /** HMAC key binding the challenge ids; at least 16 characters. Shared by every instance. */
  secret: string;
  /** The protection space, e.g. the gateway's public host. */
  realm: string;
  /** The time the challenges are issued (for x402 maxTimeoutSeconds); defaults to now. */
  now?: Date;
  /** Optional human-readable reason in the x402 PaymentRequired `error` field. */
  error?: string;
}

/** One offer as the problem body lists it: what to pay, and how to say it in each protocol. */
export interface PaymentOffer {
  network: string;
  asset: string;
  payTo: string;
  /** units × amountPerUnit, smallest unit, decimal string. */
  amount: string;
  /** The x402 `accepts[]` entry for this offer uses this scheme. */
  x402: { scheme: 'exact' | 'upto' };
  /** The Payment challenge for this offer; absent when no Payment method carries it. */
  paymentAuth?: { id: string; method: string; intent: string };
}

/** The `payment` extension member of the 402 problem body. */
export interface PaymentProblemMember {
  resource: string;
  units: number;
  intent: PaymentRequirement['intent'];
  /** RFC 3339; the same instant as the challenges' `expires`. */
  expires: string;
  offers: PaymentOffer[];
  /** Other ways to pay for the same resource (an `upto` authorization next to a charge). */
  alternatives?: Omit<PaymentProblemMember, 'alternatives'>[];
}

export interface PaymentChallenges {
  /** One `Payment` challenge per offer that has a Payment method; send each as its own header. */
  wwwAuthenticate: string[];
  /** The x402 v2 `PAYMENT-REQUIRED` header value. */
  paymentRequired: string;
  /** The offers as JSON, for the problem body's `payment` member. */
  problemMember: PaymentProblemMember;
}

const MIN_SECRET_LENGTH = 16;

/** The Payment-auth `request` for an offer (JCS-encoded by mppx). */
function paymentAuthRequest(asset: PayableAsset, amount: string): Record<string, unknown> {
  const shared = { amount, currency: asset.asset, recipient: asset.payTo };
  if (isTestNetwork(asset.network)) {
    return { ...shared, methodDetails: { network: TEST_NETWORK } };
  }
  // mppx's own schema for the `evm` charge request, so the shape is what mppx clients read.
  // `authorization` (EIP-3009) is the credential type mppx signs, and the one an x402
  // facilitator's `exact` scheme settles.
  return evm.ChargeRequestSchema.parse({
    ...shared,
    methodDetails: { chainId: evmChainId(asset.network), credentialTypes: ['authorization'] },
  });
}

/**
 * The offers for one requirement, or for several ways to pay for the same resource (a charge
 * and an `upto` authorization, say): one `PAYMENT-REQUIRED` whose `accepts` lists them all in
 * order, every Payment challenge, and the problem member of the first with the others as its
 * `alternatives`.
 */
export function buildPaymentChallenges(
  requirements: PaymentRequirement | PaymentRequirement[],
  options: ChallengeOptions,
): PaymentChallenges {
  if (options.secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the challenge secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const [first, ...rest] = [requirements].flat();
  if (!first) throw new RangeError('no requirement to offer');
  if (rest.some((other) => other.resource !== first.resource)) {
    throw new RangeError('every requirement must be for the same resource');
  }
  const parts = [first, ...rest].map((requirement) => offersFor(requirement, options));
  const paymentRequired: PaymentRequired = {
    x402Version: 2,
    ...(options.error ? { error: options.error } : {}),
    resource: {
      url: first.resource,
      ...(first.description ? { description: first.description } : {}),
    },
    accepts: parts.flatMap((part) => part.accepts),
  };
  const [member, ...alternatives] = parts.map((part) => part.member);
  return {
    wwwAuthenticate: parts.flatMap((part) => part.wwwAuthenticate),
    paymentRequired: encodePaymentRequiredHeader(paymentRequired),
    problemMember: alternatives.length > 0 ? { ...member, alternatives } : member,
  };
}

function offersFor(
  requirement: PaymentRequirement,
  options: ChallengeOptions,
): { accepts: PaymentRequirements[]; wwwAuthenticate: string[]; member: PaymentProblemMember } {
  if (requirement.assets.length === 0) throw new RangeError('no payable assets to offer');
  if (!URL.canParse(requirement.resource)) {
    throw new RangeError(`the resource must be an absolute URL, got ${requirement.resource}`);
  }
  const now = options.now ?? new Date();
  const expires = toRfc3339(requirement.expiresAt);
  const remainingMs = Date.parse(expires) - now.getTime();
  if (!(remainingMs > 0)) throw new RangeError('the requirement expires before it is offered');
  const maxTimeoutSeconds = Math.ceil(remainingMs / 1000);
  const scheme = x402Scheme(requirement.intent);

  const accepts: PaymentRequirements[] = [];
  const wwwAuthenticate: string[] = [];
  const offers: PaymentOffer[] = [];
  for (const asset of requirement.assets) {
    const amount = totalAmount(
      requirement.units,
      asset.amountPerUnit,
      asset.amountPerCall,
    ).toString();
    accepts.push({
      scheme,
      network: asset.network as PaymentRequirements['network'],
      amount,
      asset: asset.asset,
      payTo: asset.payTo,
      maxTimeoutSeconds,
      extra: { ...asset.extra },
    });
    const offer: PaymentOffer = {
      network: asset.network,
      asset: asset.asset,
      payTo: asset.payTo,
      amount,
      x402: { scheme },
    };
    const method = paymentAuthMethod(asset.network, requirement.intent);
    if (method !== undefined) {
      const challenge = Challenge.from({
        secretKey: options.secret,
        realm: options.realm,
        method,
        intent: requirement.intent,
        request: paymentAuthRequest(asset, amount),
        expires,
        ...(requirement.description ? { description: requirement.description } : {}),
      });
      wwwAuthenticate.push(Challenge.serialize(challenge));
      offer.paymentAuth = { id: challenge.id, method, intent: requirement.intent };
    }
    offers.push(offer);
  }

  return {
    accepts,
    wwwAuthenticate,
    member: {
      resource: requirement.resource,
      units: requirement.units,
      intent: requirement.intent,
      expires,
      offers,
    },
  };
}

export type ChallengeCheck =
  | { valid: true; expiresAt: Date }
  | {
      valid: false;
      /**
       * `no-challenge`: an x402 payment (x402 carries no challenge id; its offer is checked
       * against the current requirement instead). `invalid-challenge`: not a challenge this
       * secret and realm issued, or altered since. `expired`: past its `expires`.
       */
      reason: 'no-challenge' | 'invalid-challenge' | 'expired';
    };

/**
 * Checks that a Payment credential answers a challenge we issued, unaltered and unexpired:
 * mppx recomputes the HMAC over the echoed realm, method, intent, request and expires and
 * compares in constant time (its `constantTimeEqual`, which hashes both sides first). The
 * realm is also compared, so a challenge from another realm sharing the secret is refused.
 */
export function verifyChallengeId(
  payment: ParsedPayment,
  options: { secret: string; realm: string; now: Date },
): ChallengeCheck {
  if (payment.protocol !== 'payment-auth') return { valid: false, reason: 'no-challenge' };
  const raw = payment.raw as { challenge?: unknown } | null;
  const parsed = Challenge.Schema.safeParse(raw?.challenge);
  if (!parsed.success) return { valid: false, reason: 'invalid-challenge' };
  const challenge = parsed.data;
  if (
    challenge.id !== payment.challengeId ||
    challenge.realm !== options.realm ||
    !Challenge.verify(challenge, { secretKey: options.secret })
  ) {
    return { valid: false, reason: 'invalid-challenge' };
  }
  const expiresAt = parseRfc3339(challenge.expires);
  if (!expiresAt) return { valid: false, reason: 'invalid-challenge' };
  if (expiresAt.getTime() <= options.now.getTime()) return { valid: false, reason: 'expired' };
  return { valid: true, expiresAt };
}
