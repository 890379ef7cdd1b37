import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Longer values cannot be keys paygate issued; they are refused here, without a remote call. */
export const MAX_API_KEY_LENGTH = 512;

/** The caller's API key from `Authorization: Bearer <key>` or `X-API-Key`, if any. */
export function apiKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  let key: string | undefined;
  if (authorization && /^Bearer(\s|$)/i.test(authorization)) {
    key = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  } else if (typeof headers['x-api-key'] === 'string') {
    // Also when Authorization carries another scheme: `Authorization: Payment …` (a payment
    // credential, docs/payments.md) goes with the key in X-API-Key.
    key = headers['x-api-key'].trim() || undefined;
  }
  return key && key.length <= MAX_API_KEY_LENGTH ? key : undefined;
}

/**
 * What the gateway keeps of a key in its caches (leases, rate-limit policies): its SHA-256,
 * computed once per request. The caches outlive requests; a memory dump should not leak keys.
 */
export function apiKeyId(apiKey: string): string {
  // The one-shot hash(): no Hash object per request (a quarter of createHash's cost here).
  return hash('sha256', apiKey, 'base64url');
}
