/**
 * The shapes the rest of paygate sees. Nothing here names a library type: @x402/core and mppx
 * stay behind this lib, so their versions can move without touching the gateway.
 */

/** One way to pay: an asset on a network, paid to an address, at a price per unit. */
export interface PayableAsset {
  /** CAIP-2 chain id, e.g. `eip155:8453`, or `paygate:test` for the built-in test network. */
  network: string;
  /** The asset's id on that network (an ERC-20 contract address, or any name on paygate:test). */
  asset: string;
  /** Who gets paid: an address on that network. */
  payTo: string;
  /** Price of one unit in the asset's smallest unit, as a decimal string (bigint-safe). */
  amountPerUnit: string;
  /** Added once per request, in the smallest unit, decimal string (default 0). */
  amountPerCall?: string;
  /**
   * Scheme-specific data copied into the x402 requirement's `extra`, e.g. the EIP-712 domain
   * `{ name: 'USD Coin', version: '2' }` an EIP-3009 signer needs for USDC. Optional.
   */
  extra?: Record<string, unknown>;
}

/** What a request must pay for, as the gateway works it out at the moment it answers 402. */
export interface PaymentRequirement {
  /** Absolute URL of the resource the payment buys. */
  resource: string;
  /** Human-readable purpose; display only, never used to verify anything. */
  description?: string;
  /** Units the request needs (a positive safe integer). */
  units: number;
  /**
   * `charge`: pay exactly the amount. `upto`: authorize at most the amount (x402 `upto`
   * scheme); settle() then takes the amount actually owed, at most the authorized one.
   */
  intent: 'charge' | 'upto';
  /** The offers, one per asset; an empty list offers nothing. */
  assets: PayableAsset[];
  /** When the offers stop being valid (the challenges' `expires`). */
  expiresAt: Date;
}

/** A payment credential from a request, whichever of the two protocols carried it. */
export interface ParsedPayment {
  /** `x402`: the PAYMENT-SIGNATURE header. `payment-auth`: `Authorization: Payment …`. */
  protocol: 'x402' | 'payment-auth';
  /** `charge` (x402 `exact`): pay the amount. `upto`: authorize at most the amount. */
  intent: 'charge' | 'upto';
  /** The header's value as sent (trimmed): what settles an `upto` authorization later. */
  credential: string;
  /** When the signed payload stops being valid, where it says (test voucher, EIP-3009, Permit2). */
  validBefore?: Date;
  /** The echoed Payment challenge id (payment-auth only); check it with verifyChallengeId. */
  challengeId?: string;
  /** CAIP-2 network of the payment. */
  network: string;
  /** The asset paid in. */
  asset: string;
  /** The recipient the payment names. */
  payTo: string;
  /** The amount in the asset's smallest unit, decimal string. */
  amount: string;
  /** The payer's address on the network. */
  payer: string;
  /**
   * Unique per payment: `<network>:<payer>:<nonce>` with the nonce the payer signed (an
   * EIP-3009 or Permit2 nonce on EVM, lowercased with the address; the voucher nonce on
   * paygate:test). The key for idempotent settlement and for granting credits once.
   */
  paymentId: string;
  /**
   * The decoded credential: the x402 PaymentPayload (schema-checked) or the Payment-auth
   * credential `{ challenge, payload, source? }`. Facilitators read the signed payload here.
   */
  raw: unknown;
}

/** A credential that was present but could not be read. Answer 402 with a fresh challenge. */
export interface MalformedPayment {
  error: 'malformed';
  detail: string;
}

export type VerifyResult =
  | { valid: true }
  | {
      valid: false;
      reason:
        | 'invalid-signature'
        | 'underpaid'
        | 'wrong-network'
        | 'expired'
        | 'wrong-recipient'
        // Anything else a facilitator reports (e.g. 'wrong-asset', 'insufficient-funds').
        | string;
    };

export type SettleResult =
  { settled: true; transaction: string } | { settled: false; reason: string };

/** Checks a payment against what the request needs, then moves the money. */
export interface PaymentFacilitator {
  verify(payment: ParsedPayment, requirement: PaymentRequirement): Promise<VerifyResult>;
  /**
   * Settles a payment that verify accepted; pass the same requirement (facilitators that need
   * server-side terms, like the x402 `extra`, take them from it). Idempotent per paymentId on
   * paygate:test; on chain a signed nonce can be used once, so a second settle fails there.
   */
  settle(
    payment: ParsedPayment,
    requirement?: PaymentRequirement,
    /**
     * `upto` only: what to settle, in the smallest unit (≤ the authorized amount; '0' settles
     * nothing). Without it the payment's own amount is settled.
     */
    amount?: string,
  ): Promise<SettleResult>;
}

/** A settled payment, for the receipt headers. A ParsedPayment plus the settle result fits. */
export interface Settlement {
  network: string;
  /** The facilitator's transaction reference (a tx hash on chain). */
  transaction: string;
  payer: string;
  amount: string;
  /** When it settled; defaults to now when rendering the receipt. */
  settledAt?: Date;
}
