/** What a grant of credits is made of (the service and its repository share it). */
export const GRANT_SOURCES = ['purchase', 'promotional', 'manual'] as const;
/**
 * Besides what operators grant: 'migrated' (credits from before grants), 'returned' (credits a
 * lease gave back with no grant to take them) and 'authorization' (an `upto` payment's credits,
 * spendable until its hold ends; see RecordPaymentUseCase).
 */
export type GrantSource =
  (typeof GRANT_SOURCES)[number] | 'migrated' | 'returned' | 'authorization';

export interface GrantInput {
  customerId: string;
  amount: number;
  source: GrantSource;
  priority?: number;
  effectiveAt?: Date;
  expiresAt?: Date;
  idempotencyKey: string;
  requestHash?: string;
  description?: string;
}
