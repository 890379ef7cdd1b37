import { join } from 'node:path';
import type { Observable } from 'rxjs';
import type { ProblemCode } from './problem-codes';

/** Typed bindings for proto/paygate/entitlement/v1/entitlement.proto (loaded with keepCase: false). */
export const ENTITLEMENT_GRPC_PACKAGE = 'paygate.entitlement.v1';
export const ENTITLEMENT_GRPC_SERVICE = 'EntitlementService';
export const ENTITLEMENT_PROTO_PATH = join(
  __dirname,
  '..',
  'proto',
  'paygate',
  'entitlement',
  'v1',
  'entitlement.proto',
);

/** proto-loader options shared by server and client so both see the same shapes. */
export const ENTITLEMENT_PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

export interface CheckRequest {
  apiKey: string;
  feature: string;
  cost: number;
  requestId: string;
  requiredScopes: string[];
  /** Units to reserve in all (this request and the next ones); 0 means `cost`. */
  leaseUnits?: number;
  /** Instead of apiKey: a customer a settled payment identified (anonymous pay-per-call). */
  customerId?: string;
  /** With neither apiKey nor customerId: the price of the call under this plan (a quote). */
  payerPlan?: string;
  /** With payerPlan: the verified payer's account; its own customer decides when it has one. */
  payerAccount?: string;
}

export interface Denial {
  code: ProblemCode;
  plan: string;
  feature: string;
  balance?: number;
  required?: number;
  limit?: number;
  used?: number;
  resetsAt: string;
  link: string;
}

/** Caveats on an allowed request. */
export const WARNING_CODES = ['subscription-past-due', 'soft-limit-reached'] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export interface Warning {
  code: WarningCode;
  until: string;
  used?: number;
  limit?: number;
}

export interface CheckResponse {
  allowed: boolean;
  customerId: string;
  leaseId: string;
  plan: string;
  denial?: Denial | null;
  warnings: Warning[];
  /** The plan's rate limit for the feature; absent (null) when it has none. */
  rateLimit?: RateLimit | null;
  /** Units reserved under leaseId (at least the request's cost). */
  leaseUnits?: number;
  /** The plan's limit on requests in flight for the feature; 0 or absent when it has none. */
  concurrencyLimit?: number;
  /**
   * The Postgres snapshot an allowed decision for a key read the key, customer, subscription
   * and plan under (pg_snapshot text); empty when it has none. A change whose transaction it
   * shows committed is in the answer (decidedWith).
   */
  readSnapshot?: string;
  /** The Postgres server run that snapshot is of (EntitlementChangedEvent.databaseRun). */
  readDatabaseRun?: string;
}

export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

export interface ReleaseRequest {
  leaseId: string;
  reason: string;
  /** Units to give back; 0 or absent means all the lease still holds (none with `close`). */
  units?: number;
  /** The gateway closes the lease: what it did not give back was served (never expires back). */
  close?: boolean;
  /** Names a give-back (made by the gateway): one already applied gives nothing back again. */
  releaseId?: string;
}

export interface ReleaseResponse {
  released: boolean;
}

/** Leases that give nothing back, closed together (see CloseLeases in the proto). */
export interface CloseLeasesRequest {
  /** At most CLOSE_LEASES_MAX UUIDs. */
  leaseIds: string[];
}

export interface CloseLeasesResponse {
  /** Leases this call closed (not those closed before, nor unknown ids). */
  closed: number;
}

/** The most lease ids one CloseLeases call may name. */
export const CLOSE_LEASES_MAX = 1000;

/** A payment the gateway settled (machine-payable 402), to turn into credits exactly once. */
export interface RecordPaymentRequest {
  customerId: string;
  /** Unique per payment: `<network>:<payer>:<nonce>` (1..512 characters). */
  paymentId: string;
  /** Credits bought: a positive integer, at most 2^53 − 1. */
  credits: number;
  /** CAIP-2 chain id, e.g. `eip155:8453`. */
  network: string;
  asset: string;
  /** Paid, in the asset's smallest unit: a decimal string (may exceed 2^53). */
  amount: string;
  payer: string;
  /** The facilitator's settlement reference (a transaction hash on chain). */
  transaction: string;
  requestId: string;
  /** Anonymous pay-per-call: customerId empty, the payer's account is the customer (this plan). */
  payerPlan?: string;
  /** An `upto` payment: authorized, not settled yet (`transaction` empty); see the proto. */
  authorization?: PaymentAuthorization | null;
  /** An `exact` payment journaled before it is settled (`transaction` empty); see the proto. */
  settling?: PaymentSettling | null;
}

/** What any gateway needs to settle a journaled `exact` payment, and the caller's claim on it. */
export interface PaymentSettling {
  protocol: 'x402' | 'payment-auth' | string;
  credential: string;
  requirement: string;
  /** 10..3600 */
  claimSeconds: number;
}

/** An `upto` authorization: held until holdUntilMs, then settled for the credits used. */
export interface PaymentAuthorization {
  /** Hold end, ms since the epoch (a safe integer). */
  holdUntilMs: number;
  protocol: 'x402' | 'payment-auth' | string;
  /** The credential header's value as the request carried it. */
  credential: string;
  /** The PaymentRequirement it was verified against, as JSON. */
  requirement: string;
  /** Smallest-unit decimal strings: settled = amountPerCall + used × amountPerUnit (≤ amount). */
  amountPerUnit: string;
  amountPerCall: string;
}

export interface RecordPaymentResponse {
  /** The payment was recorded before (a replayed credential or a retry): nothing granted now. */
  replayed: boolean;
  /** The payment's grant (created by the first call). */
  grantId: string;
  /** The customer's available credits after the call. */
  balance: number;
  /** The customer credited (the payer's account with payerPlan). */
  customerId: string;
  /** Replayed `upto` authorization still within its hold: the request may be decided. */
  authorizationOpen?: boolean;
  /** With `settling`: the caller holds the settlement now (false and not replayed: another does). */
  claimed?: boolean;
}

export interface ClaimSettlementsRequest {
  /** 1..100 */
  limit: number;
  /** 10..3600 */
  claimSeconds: number;
}

/**
 * To settle: an `upto` authorization whose hold ended (for what was used), or an `exact`
 * payment whose journaled settlement was never reported (its gateway died: the full amount).
 */
export interface PaymentSettlement {
  paymentId: string;
  customerId: string;
  protocol: string;
  credential: string;
  requirement: string;
  /** To settle, smallest unit, decimal string (> 0). */
  amount: string;
  creditsUsed: number;
}

export interface ClaimSettlementsResponse {
  settlements: PaymentSettlement[];
}

export interface CompleteSettlementRequest {
  paymentId: string;
  settled: boolean;
  transaction: string;
  failure: string;
  /** Not settled, and not refused either (timeout, unavailable): the claim ends now. */
  retry?: boolean;
}

export interface CompleteSettlementResponse {
  completed: boolean;
}

/** A share of a plan rate limit's window for one gateway to admit (see the proto). */
export interface TakeRateWindowRequest {
  customerId: string;
  feature: string;
  /** Window start, ms since the epoch, a multiple of windowSeconds × 1000. */
  windowStartMs: number;
  /** 1..31,536,000 */
  windowSeconds: number;
  /** The plan's limit per window (1..2^53 − 1). */
  limit: number;
  /** 1..limit */
  units: number;
}

export interface TakeRateWindowResponse {
  /** Units taken for the caller (0: the window is full). */
  granted: number;
  /** Units taken in the window by every caller, this call's included. */
  used: number;
}

/** Slots of a plan concurrency limit for one gateway replica to hold (see the proto). */
export interface HoldConcurrencyRequest {
  customerId: string;
  feature: string;
  /** One gateway replica's id (1..128 characters). */
  holder: string;
  /** The plan's limit on requests in flight (1..1,000,000). */
  limit: number;
  /** Slots to hold from now on (0..limit); 0 gives them all back. */
  slots: number;
  /** 1..3,600 */
  holdSeconds: number;
}

export interface HoldConcurrencyResponse {
  /** Slots the caller holds now (`slots` or fewer). */
  held: number;
  /** Slots held by every caller, this one's included. */
  inUse: number;
}

/** The client side as @nestjs/microservices' ClientGrpc exposes it. */
export interface EntitlementServiceClient {
  check(request: CheckRequest): Observable<CheckResponse>;
  release(request: ReleaseRequest): Observable<ReleaseResponse>;
  closeLeases(request: CloseLeasesRequest): Observable<CloseLeasesResponse>;
  recordPayment(request: RecordPaymentRequest): Observable<RecordPaymentResponse>;
  claimSettlements(request: ClaimSettlementsRequest): Observable<ClaimSettlementsResponse>;
  completeSettlement(request: CompleteSettlementRequest): Observable<CompleteSettlementResponse>;
  takeRateWindow(request: TakeRateWindowRequest): Observable<TakeRateWindowResponse>;
  holdConcurrency(request: HoldConcurrencyRequest): Observable<HoldConcurrencyResponse>;
}
