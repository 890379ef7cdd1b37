import type { IncomingHttpHeaders } from 'node:http';

/** The caller's API key from `Authorization: Bearer <key>` or `X-API-Key`, if any. */
export function apiKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.trim() !== '' ? key.trim() : undefined;
}
