import type { IncomingHttpHeaders } from 'node:http';

/** Longer values cannot be keys paygate issued; they are refused here, without a remote call. */
export const MAX_API_KEY_LENGTH = 512;

/** The caller's API key from `Authorization: Bearer <key>` or `X-API-Key`, if any. */
export function apiKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  let key: string | undefined;
  if (authorization) {
    key = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  } else if (typeof headers['x-api-key'] === 'string') {
    key = headers['x-api-key'].trim() || undefined;
  }
  return key && key.length <= MAX_API_KEY_LENGTH ? key : undefined;
}
