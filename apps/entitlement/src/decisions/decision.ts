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

export type Decision =
  | { allowed: true; customerId: string; plan: string; leaseId?: string }
  | { allowed: false; customerId?: string; denial: DenialReason };

export interface CheckInput {
  apiKey: string;
  feature: string;
  cost: number;
  requestId: string;
  requiredScopes: string[];
}
