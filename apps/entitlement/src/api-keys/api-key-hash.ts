import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'pg_live_';

/**
 * Keys are 256 random bits, so a fast hash is enough to make a stolen table useless: there is
 * no dictionary to try, unlike passwords, and the gateway needs the lookup to be cheap.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, KEY_PREFIX.length + 6), hash: hashApiKey(key) };
}
