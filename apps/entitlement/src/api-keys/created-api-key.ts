import { PROBLEM_TYPE_BASE } from '@paygate/problem-details';

/** The note a replayed creation carries in place of the key (problem-details style). */
export const KEY_NOT_REPLAYED = {
  type: `${PROBLEM_TYPE_BASE}secret-not-replayed`,
  title: 'Secret not replayed',
  detail:
    'An API key is shown once, in the response that created it, and is never stored. This is a replay of that response (Idempotent-Replayed: true), so the key is left out: if it was lost, revoke this key and create another.',
} as const;

/** A created key as its creation answers it, with the secret. */
export interface ApiKeyWithSecret {
  id: string;
  customerId: string;
  /** The secret; returned once and never stored. */
  key: string;
  prefix: string;
  scopes: string[];
  expiresAt: Date | null;
}

/** A created key as a replay of its creation answers: everything but the secret. */
export interface RedactedApiKey {
  id: string;
  customerId: string;
  key: null;
  keyRedacted: true;
  redaction: typeof KEY_NOT_REPLAYED;
  prefix: string;
  scopes: string[];
  expiresAt: Date | null;
}

/**
 * A new API key with its secret, the only time the secret exists outside the caller. Its
 * idempotentReplay() is what IdempotencyInterceptor stores for a retry with the same
 * Idempotency-Key, so the secret never reaches the database.
 */
export class CreatedApiKey implements ApiKeyWithSecret {
  constructor(
    readonly id: string,
    readonly customerId: string,
    /** The secret; returned here once and never stored. */
    readonly key: string,
    readonly prefix: string,
    readonly scopes: string[],
    readonly expiresAt: Date | null,
  ) {}

  idempotentReplay(): RedactedApiKey {
    return {
      id: this.id,
      customerId: this.customerId,
      key: null,
      keyRedacted: true,
      redaction: KEY_NOT_REPLAYED,
      prefix: this.prefix,
      scopes: this.scopes,
      expiresAt: this.expiresAt,
    };
  }
}
