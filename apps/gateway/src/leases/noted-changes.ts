import { type ChangeTransaction, type CheckResponse, decidedWith } from '@paygate/contracts';

/** Changes noted while one answer is asked for, past which they count as unknown. */
export const MAX_NOTED_TRANSACTIONS = 16;

/**
 * Entitlement changes that came while an answer was being asked for: their transactions, or
 * `unknown` once one was not named (an event of an older service, a shutdown) or there were
 * more than MAX_NOTED_TRANSACTIONS (then the answer is asked for again: a remote call, not a
 * risk).
 */
export type NotedChanges = readonly ChangeTransaction[] | 'unknown';

/** The changes noted so far and one more. */
export function withChange(
  noted: NotedChanges,
  change: ChangeTransaction | undefined,
): NotedChanges {
  if (noted === 'unknown' || change === undefined || noted.length >= MAX_NOTED_TRANSACTIONS)
    return 'unknown';
  return [...noted, change];
}

/**
 * Whether the answer was made with every change noted: its read snapshot shows each one
 * committed, in the same run of the database (decidedWith). Then the change cannot have
 * made it wrong, and it is kept.
 */
export function madeWithAll(answer: CheckResponse, noted: NotedChanges): boolean {
  return noted !== 'unknown' && noted.every((change) => decidedWith(answer, change));
}
