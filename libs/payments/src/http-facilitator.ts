/**
 * Real networks: an x402 facilitator (`POST /verify`, `POST /settle`, `GET /supported`) per
 * network, spoken through @x402/core's HTTPFacilitatorClient.
 *
 * Payment-auth credentials on EVM go to the same facilitator: mppx's `evm` charge payload is
 * an EIP-3009 authorization, which is what the x402 `exact` scheme settles. The mapping is
 * written here because mppx 0.11 keeps its own (x402/server/EvmCharge `facilitatorPayment`)
 * out of its package exports.
 */
import { HTTPFacilitatorClient } from '@x402/core/http';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { evm } from 'mppx';
import { isDecimalAmount } from './amount';
import { matchOffer } from './offer-match';
import { x402Scheme } from './networks';
import { parseRfc3339 } from './time';
import type {
  PayableAsset,
  ParsedPayment,
  PaymentFacilitator,
  PaymentRequirement,
  SettleResult,
  VerifyResult,
} from './types';

export interface HttpFacilitatorOptions {
  /** The x402 facilitator base URL for each CAIP-2 network it settles. */
  facilitators: Record<string, string>;
  /** Per-request timeout in milliseconds (default: @x402/core's, 90 s). */
  timeoutMs?: number;
  /** Headers for each facilitator call, e.g. an API key. */
  authHeaders?: () => Promise<{
    verify?: Record<string, string>;
    settle?: Record<string, string>;
    supported?: Record<string, string>;
  }>;
}

/** What is sent to the facilitator: the x402 pair it verifies and settles. */
interface X402Pair {
  paymentPayload: PaymentPayload;
  paymentRequirements: PaymentRequirements;
}

/** x402 facilitator reasons (snake_case, per scheme) in this lib's words; others pass as sent. */
function reasonOf(reason: string | undefined): string {
  if (!reason) return 'rejected';
  if (/signature/.test(reason)) return 'invalid-signature';
  if (/valid_before|deadline_expired|expired/.test(reason)) return 'expired';
  if (/recipient|destination/.test(reason)) return 'wrong-recipient';
  if (/network/.test(reason)) return 'wrong-network';
  if (/insufficient_(funds|balance)/.test(reason)) return 'insufficient-funds';
  return reason;
}

/** A failed facilitator call as a reason: its own verdict when it sent one, else unreachable. */
function failureOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { invalidReason, errorReason, name } = error as Record<string, unknown>;
    if (typeof invalidReason === 'string') return reasonOf(invalidReason);
    if (typeof errorReason === 'string') return reasonOf(errorReason);
    // A settle that timed out may still have settled: the caller must not treat it as unpaid.
    if (name === 'FacilitatorTimeoutError') return 'facilitator-timeout';
  }
  return 'facilitator-unavailable';
}

export class HttpFacilitator implements PaymentFacilitator {
  private readonly clients = new Map<string, HTTPFacilitatorClient>();

  constructor(options: HttpFacilitatorOptions) {
    const byUrl = new Map<string, HTTPFacilitatorClient>();
    for (const [network, url] of Object.entries(options.facilitators)) {
      let client = byUrl.get(url);
      if (!client) {
        client = new HTTPFacilitatorClient({
          url,
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.authHeaders ? { createAuthHeaders: options.authHeaders } : {}),
        });
        byUrl.set(url, client);
      }
      this.clients.set(network, client);
    }
  }

  /** The scheme/network pairs each configured facilitator says it supports (`GET /supported`). */
  async supported(): Promise<Array<{ network: string; scheme: string }>> {
    const kinds = new Map<string, { network: string; scheme: string }>();
    for (const client of new Set(this.clients.values())) {
      const response = await client.getSupported();
      for (const kind of response.kinds) {
        if (kind.x402Version !== 2) continue;
        kinds.set(`${kind.scheme} ${kind.network}`, { network: kind.network, scheme: kind.scheme });
      }
    }
    return [...kinds.values()];
  }

  /**
   * The x402 pair for a payment. The requirements take the server's word where it has one
   * (the offer's asset, recipient and `extra`, the scheme of the requirement's intent) and the
   * payment's amount, which verify has already compared with the price.
   */
  private pair(
    payment: ParsedPayment,
    requirement?: PaymentRequirement,
    offer?: PayableAsset,
    amount = payment.amount,
  ): X402Pair | { reason: string } {
    if (payment.protocol === 'x402') {
      const paymentPayload = payment.raw as PaymentPayload;
      const accepted = paymentPayload.accepted;
      return {
        paymentPayload,
        paymentRequirements: {
          ...accepted,
          ...(requirement ? { scheme: x402Scheme(requirement.intent) } : {}),
          ...(offer ? { asset: offer.asset, payTo: offer.payTo, extra: { ...offer.extra } } : {}),
          // `upto`: the server settles what is owed by naming it as the requirement's amount
          // (at most the permitted amount, which the signed payload carries).
          amount,
        },
      };
    }
    const credential = payment.raw as {
      challenge: { id: string; realm: string; expires?: string };
      payload: unknown;
    };
    const authorization = evm.ChargePayloadSchema.safeParse(credential.payload);
    if (!authorization.success) return { reason: 'invalid-payload' };
    const { from, to, value, validAfter, validBefore, nonce, signature } = authorization.data;
    // draft-evm-charge: the EIP-3009 nonce MUST be the challenge hash (mppx computes it), which
    // binds the signed transfer to the challenge.
    if (nonce.toLowerCase() !== evm.challengeHash(credential.challenge).toLowerCase()) {
      return { reason: 'invalid-nonce' };
    }
    const expires = parseRfc3339(credential.challenge.expires);
    const paymentRequirements: PaymentRequirements = {
      scheme: 'exact',
      network: payment.network as PaymentRequirements['network'],
      asset: payment.asset,
      payTo: payment.payTo,
      amount: payment.amount,
      maxTimeoutSeconds: Math.max(1, Math.ceil(((expires?.getTime() ?? 0) - Date.now()) / 1000)),
      extra: { assetTransferMethod: evm.eip3009, ...offer?.extra },
    };
    return {
      paymentRequirements,
      paymentPayload: {
        x402Version: 2,
        ...(requirement ? { resource: { url: requirement.resource } } : {}),
        accepted: paymentRequirements,
        payload: { signature, authorization: { from, to, value, validAfter, validBefore, nonce } },
      },
    };
  }

  async verify(payment: ParsedPayment, requirement: PaymentRequirement): Promise<VerifyResult> {
    const client = this.clients.get(payment.network);
    if (!client) return { valid: false, reason: 'wrong-network' };
    // The cheap checks first, against the server's own offer: no round trip to refuse them.
    const match = matchOffer(requirement, {
      ...payment,
      onNetwork: (network) => network === payment.network,
    });
    if ('reason' in match) return { valid: false, reason: match.reason };
    const offer = match.offer;
    if (
      payment.protocol === 'x402' &&
      (payment.raw as PaymentPayload).accepted.scheme !== x402Scheme(requirement.intent)
    ) {
      return { valid: false, reason: 'wrong-scheme' };
    }
    const pair = this.pair(payment, requirement, offer);
    if ('reason' in pair) return { valid: false, reason: pair.reason };
    try {
      const response = await client.verify(pair.paymentPayload, pair.paymentRequirements);
      return response.isValid
        ? { valid: true }
        : { valid: false, reason: reasonOf(response.invalidReason) };
    } catch (error) {
      return { valid: false, reason: failureOf(error) };
    }
  }

  /**
   * Settles through the network's facilitator. Pass the requirement verify was given, so the
   * settlement carries the server's `extra` (an EIP-3009 domain, say) rather than the echo.
   * An `upto` payment settles `amount` (the x402 `upto` scheme: at most the permitted amount;
   * nothing at all for '0', which needs no transaction).
   */
  async settle(
    payment: ParsedPayment,
    requirement?: PaymentRequirement,
    amount?: string,
  ): Promise<SettleResult> {
    const client = this.clients.get(payment.network);
    if (!client) return { settled: false, reason: 'wrong-network' };
    const owed = payment.intent === 'upto' && amount !== undefined ? amount : payment.amount;
    if (!isDecimalAmount(owed)) return { settled: false, reason: 'invalid-amount' };
    if (BigInt(owed) > BigInt(payment.amount)) {
      return { settled: false, reason: 'settlement-exceeds-amount' };
    }
    if (owed === '0') return { settled: true, transaction: '' };
    const offer = requirement?.assets.find(
      (asset) =>
        asset.network === payment.network &&
        asset.asset === payment.asset &&
        asset.payTo === payment.payTo,
    );
    const pair = this.pair(payment, requirement, offer, owed);
    if ('reason' in pair) return { settled: false, reason: pair.reason };
    try {
      const response = await client.settle(pair.paymentPayload, pair.paymentRequirements);
      return response.success
        ? { settled: true, transaction: response.transaction }
        : { settled: false, reason: reasonOf(response.errorReason) };
    } catch (error) {
      return { settled: false, reason: failureOf(error) };
    }
  }
}
