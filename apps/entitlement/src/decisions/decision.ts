import type { ProblemCode, WarningCode } from '@paygate/contracts';

export interface DenialReason {
  code: ProblemCode;
  plan?: string;
  feature?: string;
  balance?: number;
  required?: number;
  limit?: number;
  used?: number;
  resetsAt?: Date;
}

/** Something the caller should know although the request passes (e.g. payment past due). */
export interface DecisionWarning {
  code: WarningCode;
  /** When the warning turns into a refusal or resets, if it does. */
  until?: Date;
  used?: number;
  limit?: number;
}

export type Decision =
  | {
      allowed: true;
      customerId: string;
      plan: string;
      leaseId?: string;
      /** Units reserved under leaseId: the request's cost plus any granted for later ones. */
      leaseUnits?: number;
      warnings?: DecisionWarning[];
      rateLimit?: { requests: number; windowSeconds: number };
      /** The plan's limit on the feature's requests in flight at once, when it has one. */
      concurrencyLimit?: number;
      /** For a key: the Postgres snapshot the decision read under (CheckResponse.readSnapshot). */
      readSnapshot?: string;
      /** The database server run of that snapshot (CheckResponse.readDatabaseRun). */
      readDatabaseRun?: string;
    }
  | { allowed: false; customerId?: string; denial: DenialReason };

/**
 * Who asks is one of: `apiKey`; `customerId`, a customer a payment settled for this request
 * identified (anonymous pay-per-call); or, for a quote, nobody yet: `payerPlan`, the plan whose
 * price an anonymous caller pays.
 */
export interface CheckInput {
  /** Empty when customerId or payerPlan is given. */
  apiKey: string;
  customerId?: string;
  payerPlan?: string;
  /** With payerPlan: the verified payer's account (its customer, if any, decides). */
  payerAccount?: string;
  feature: string;
  cost: number;
  requestId: string;
  requiredScopes: string[];
  /** Units to reserve in all (≥ cost), as far as included units and credits go. */
  leaseUnits?: number;
}
