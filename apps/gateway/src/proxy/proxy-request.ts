import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';

/**
 * A request the gateway proxies, as its front door received it: a plain object over Node's
 * request, without a framework's (see FrontDoor in @paygate/http).
 */
export interface ProxyRequest {
  readonly id: string;
  /** The request target as received: path and query. */
  readonly url: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** `http` or `https` as the caller used it (behind a proxy, X-Forwarded-Proto's last entry). */
  readonly protocol: string;
  readonly remoteAddress: string | undefined;
  /** The body as it streams in, for a request that has one. */
  readonly body: Readable | undefined;
  /**
   * The lease it was admitted from ('' until then): with the request id in the access log, it
   * ties a request to the aggregated usage event that counted it.
   */
  leaseId: string;
}

/** Methods whose body is never forwarded (as before the front door: Fastify parsed none). */
const BODILESS = new Set(['GET', 'HEAD']);

/**
 * The ProxyRequest of a request. The gateway trusts X-Forwarded-Proto as every paygate service
 * does (it runs behind a load balancer or none): its last entry is the proxy nearest to it.
 */
export function proxyRequest(req: IncomingMessage, id: string): ProxyRequest {
  const { headers } = req;
  const method = req.method ?? 'GET';
  const forwardedProto = headers['x-forwarded-proto'] as string | undefined;
  const hasBody =
    !BODILESS.has(method) &&
    (headers['transfer-encoding'] !== undefined ||
      (headers['content-length'] !== undefined && headers['content-length'] !== '0'));
  return {
    id,
    url: req.url ?? '/',
    method,
    headers,
    protocol:
      (forwardedProto ? schemeOf(lastEntry(forwardedProto)) : undefined) ??
      ((req.socket as TLSSocket).encrypted ? 'https' : 'http'),
    remoteAddress: req.socket.remoteAddress,
    body: hasBody ? req : undefined,
    leaseId: '',
  };
}

function lastEntry(value: string): string {
  const comma = value.lastIndexOf(',');
  return (comma < 0 ? value : value.slice(comma + 1)).trim();
}

/**
 * `http` or `https` as sent (any case), else undefined: the value goes into the gateway's own
 * `Forwarded` element and `X-Forwarded-Proto`, where anything else (`https;for=…;host=…`)
 * would let a caller write parameters into the entry an upstream trusts as the gateway's.
 */
function schemeOf(value: string): 'http' | 'https' | undefined {
  const scheme = value.toLowerCase();
  return scheme === 'http' || scheme === 'https' ? scheme : undefined;
}
