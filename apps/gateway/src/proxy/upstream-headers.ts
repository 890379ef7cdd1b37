import { connectionNamed, forwardedHeader, isHopByHop } from './hop-by-hop';
import type { ProxyRequest } from './proxy-request';

/**
 * Fields of the caller's request the upstream never gets as sent: Host (undici sets the
 * upstream's; the caller's goes on as X-Forwarded-Host), Expect (the gateway answers
 * 100-continue itself and undici refuses to send it on), the credentials that identify the
 * caller to paygate, and every field the gateway sets itself, so a caller cannot pass off its
 * own X-Paygate-Customer-Id, X-Request-Id or forwarding chain as the gateway's.
 */
const NOT_FORWARDED = new Set([
  'host',
  'expect',
  'authorization',
  'x-api-key',
  'payment-signature',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
  'x-request-id',
  'x-paygate-customer-id',
]);

/**
 * The caller's headers as the upstream gets them, in undici's flat `[name, value, …]` form:
 * one array per request, where an object copy with fields deleted from it would fall back to
 * a slow dictionary object and be walked again by undici (the largest allocation of paygate's
 * own code per proxied request). Names are Node's lower-case ones; a repeated field Node keeps
 * as a list (Set-Cookie) goes on as one line per value.
 */
export function upstreamHeaders(request: ProxyRequest, customerId: string): string[] {
  const { headers } = request;
  const named = connectionNamed(headers.connection);
  const out: string[] = [];
  for (const name in headers) {
    if (NOT_FORWARDED.has(name) || isHopByHop(name, named)) continue;
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value !== undefined) for (const one of value) out.push(name, one);
  }
  const address = request.remoteAddress;
  const priorFor = headers['x-forwarded-for'];
  const forwardedFor = priorFor ? `${String(priorFor)}, ${address}` : address;
  if (forwardedFor !== undefined) out.push('x-forwarded-for', forwardedFor);
  out.push('x-forwarded-proto', request.protocol);
  if (headers.host !== undefined) out.push('x-forwarded-host', headers.host);
  out.push(
    'forwarded',
    forwardedHeader(headers.forwarded, {
      for: address,
      proto: request.protocol,
      host: headers.host,
    }),
    'x-request-id',
    request.id,
    'x-paygate-customer-id',
    customerId,
  );
  return out;
}
