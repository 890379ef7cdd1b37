/**
 * The limits every paygate HTTP surface puts on its input, in one place (docs/api.md "Bad input").
 * What exceeds one is answered with a problem, never a 5xx:
 *
 * - body: larger than `bodyBytes` (a service may lower it, the gateway's BODY_LIMIT_BYTES) → 413;
 * - JSON nested deeper than `jsonDepth` objects/arrays, or a NUL (`\u0000`) in any string or
 *   key → 400 naming the field;
 * - request line and headers together larger than `headerBytes` → 431 (414 when the request
 *   line alone is), and more than `headerFields` header fields → 431;
 * - an HTTP/1.1 request without a Host field, or any request with more than one → 400;
 * - request target longer than `urlLength` → 414;
 * - a request (line, headers and body) not received whole within `requestMs` → 408, and the
 *   connection closed: a caller that sends a few bytes a minute holds no connection for ever
 *   (the gateway's proxy path bounds a body by a least rate in each UPSTREAM_TIMEOUT_MS
 *   instead: BODY_MIN_BYTES_PER_SECOND).
 */
export const INPUT_LIMITS = {
  bodyBytes: 1024 * 1024,
  jsonDepth: 64,
  headerBytes: 16 * 1024,
  headerFields: 1000,
  urlLength: 8 * 1024,
  requestMs: 30_000,
} as const;

/** The methods paygate's services implement; anything else is a 501. */
export const SUPPORTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
