import type { ProblemCode } from '@paygate/contracts';

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
  code: ProblemCode;
  /** When the warning turns into a refusal, if it does. */
  until?: Date;
}

export type Decision =
  | {
      allowed: true;
      customerId: string;
      plan: string;
      leaseId?: string;
      warnings?: DecisionWarning[];
    }
  | { allowed: false; customerId?: string; denial: DenialReason };

export interface CheckInput {
  apiKey: string;
  feature: string;
  cost: number;
  requestId: string;
  requiredScopes: string[];
}
