import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { HTTP_METHODS, type RouteCors, type RouteDefinition } from '../routes/route';

/**
 * Request headers a page may send to any route with `cors`: those the gateway reads (the API
 * key, a payment, the request id, the caller's language) and a JSON body's type.
 */
const READ_HEADERS = [
  'authorization',
  'x-api-key',
  'content-type',
  'accept-language',
  'x-request-id',
  'payment-signature',
  'x-payment',
  'idempotency-key',
];

/**
 * Response headers a page may read besides the CORS-safelisted ones: what the gateway says
 * about the request (its id, a 402's offers and a payment's receipt, rate limits, warnings).
 */
const EXPOSED_HEADERS = [
  'x-request-id',
  'payment-required',
  'payment-response',
  'payment-receipt',
  'www-authenticate',
  'ratelimit',
  'ratelimit-policy',
  'retry-after',
  'warning',
  'content-language',
].join(', ');

const DEFAULT_MAX_AGE_SECONDS = 600;

/** The Access-Control-Allow-Origin for this request's Origin, or undefined if not allowed. */
export function allowedOrigin(cors: RouteCors, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (cors.origins.includes('*')) return '*';
  // Browsers send the origin as serialized (lower-case scheme and host): compared as is.
  return cors.origins.includes(origin) ? origin : undefined;
}

/** A CORS preflight: OPTIONS from a browser asking whether it may send a request. */
export function isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  return (
    method === 'OPTIONS' &&
    headers.origin !== undefined &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

/**
 * Answers a preflight for a route with `cors`: 204 with what the route allows when the origin
 * is allowed, 204 with no permission otherwise (the browser then refuses the request itself).
 * Vary names what the answer depends on, so that a cache keeps one per origin.
 */
export function answerPreflight(
  res: ServerResponse,
  route: RouteDefinition,
  cors: RouteCors,
  headers: IncomingHttpHeaders,
  requestId: string,
): void {
  const origin = allowedOrigin(cors, headers.origin);
  const answer: Record<string, string> = {
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'x-request-id': requestId,
    'content-length': '0',
  };
  if (origin) {
    const cost = route.costFrom?.header ? [route.costFrom.header.toLowerCase()] : [];
    answer['access-control-allow-origin'] = origin;
    answer['access-control-allow-methods'] = (route.methods ?? HTTP_METHODS).join(', ');
    answer['access-control-allow-headers'] = [
      ...READ_HEADERS,
      ...cost,
      ...(cors.headers ?? []).map((h) => h.toLowerCase()),
    ].join(', ');
    answer['access-control-max-age'] = String(cors.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS);
  }
  res.writeHead(204, answer);
  res.end();
}

/**
 * Lets an allowed origin's page read the answer, whatever it turns out to be (served, or a
 * problem): set before anything is written, so the gateway's fields win over an upstream's.
 */
export function allowReading(
  res: ServerResponse,
  cors: RouteCors,
  origin: string | undefined,
): void {
  const allowed = allowedOrigin(cors, origin);
  // The answer depends on the origin unless every origin is allowed (see withVary).
  if (allowed !== '*') res.setHeader('vary', 'Origin');
  if (!allowed) return;
  res.setHeader('access-control-allow-origin', allowed);
  res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
}

/**
 * The upstream's Vary with the one set on `res` for CORS (taken off `res`, where it would
 * replace the upstream's whole: fields set on the response win over the upstream's).
 */
export function withVary(res: ServerResponse, upstream: OutgoingHttpHeaders): void {
  const own = res.getHeader('vary');
  if (own === undefined) return;
  res.removeHeader('vary');
  const theirs = upstream.vary;
  upstream.vary = theirs === undefined ? String(own) : `${String(theirs)}, ${String(own)}`;
}
