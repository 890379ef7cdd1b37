import type { IncomingHttpHeaders } from 'node:http';

/**
 * Fields that describe one connection, not the message (RFC 9110 §7.6.1; Transfer-Encoding and
 * Upgrade per RFC 9112), so a proxy must not forward them either way. Proxy-Authorization
 * belongs to the hop that asked for it.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

const ONLY_KEEP_ALIVE_OR_CLOSE = /^\s*(?:keep-alive|close)\s*$/i;

/**
 * The lower-case names a Connection field lists (they are hop-by-hop too); undefined when it
 * lists none, so the common request costs no Set.
 */
export function connectionNamed(connection: unknown): Set<string> | undefined {
  if (!connection) return undefined;
  // What nearly every client and upstream sends names no field of its own (Keep-Alive is
  // hop-by-hop anyway): no Set, no split, on the proxy's every request and response.
  if (typeof connection === 'string' && ONLY_KEEP_ALIVE_OR_CLOSE.test(connection)) return undefined;
  return new Set(
    String(connection)
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** Whether a lower-case field name belongs to one hop (itself, or named by Connection). */
export function isHopByHop(lowerName: string, named: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(lowerName) || named?.has(lowerName) === true;
}

/** The headers without hop-by-hop fields and without any field that Connection names. */
export function withoutHopByHop<T extends IncomingHttpHeaders | Record<string, unknown>>(
  headers: T,
): T {
  // Runs on every proxied response: no Set unless Connection names fields, no entries array.
  const named = connectionNamed(headers.connection);
  const out: Record<string, unknown> = {};
  for (const name in headers) {
    if (!isHopByHop(name.toLowerCase(), named)) out[name] = headers[name];
  }
  return out as T;
}

/** An RFC 7239 node: IPv6 addresses are bracketed and quoted. */
function forwardedNode(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.includes(':') ? `"[${address}]"` : address;
}

/** One `Forwarded` element (RFC 7239) for this hop, appended to what earlier proxies sent. */
export function forwardedHeader(
  prior: string | string[] | undefined,
  hop: { for?: string; proto: string; host?: string },
): string {
  // Concatenated, not joined from an array: this runs for every proxied request.
  let element = `for=${forwardedNode(hop.for)};proto=${hop.proto}`;
  if (hop.host) element += `;host="${hop.host.replace(/["\\]/g, '')}"`;
  const before = Array.isArray(prior) ? prior.join(', ') : prior;
  return before ? `${before}, ${element}` : element;
}
