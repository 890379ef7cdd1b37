/** One entry of the credits ledger as it is written (the service and its repository share it). */
export type LedgerEntryType =
  'grant' | 'debit' | 'reserve' | 'release' | 'expire' | 'void' | 'adjust';

export interface LedgerEntryInput {
  customerId: string;
  type: LedgerEntryType;
  /** Signed change to the available balance (a bigint is sent to Postgres as exact text). */
  amount: number | bigint;
  idempotencyKey: string;
  requestHash?: string;
  leaseId?: string;
  description?: string;
}
