import { isIP } from 'node:net';
import { connect } from 'node:tls';

/**
 * Why the gRPC channel to the entitlement service has no connection, in words an operator can
 * act on, read from an UNAVAILABLE call's details (grpc-js: "No connection established. Last
 * error: <the socket's error>"). The words name variables, never addresses or names from the
 * details: /ready, which shows them, is on the public port.
 */

/** How grpc-js (1.x) starts the details of a call that found no connection to make. */
const NO_CONNECTION = 'No connection established';

/** Details that say any of these (regular expressions), in any case. */
function anyOf(...patterns: string[]): RegExp {
  return new RegExp(patterns.join('|'), 'i');
}

/** [what the details say, what it means]: the first match wins. */
const TLS_FAILURES: [RegExp, string][] = [
  [
    /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/i,
    "the service's TLS certificate does not name the host this gateway connects to " +
      "(ENTITLEMENT_GRPC_URL's host, or ENTITLEMENT_GRPC_SERVER_NAME)",
  ],
  [/certificate has expired|CERT_HAS_EXPIRED/i, "the service's TLS certificate has expired"],
  [/certificate is not yet valid/i, "the service's TLS certificate is not valid yet"],
  [
    anyOf(
      'unable to verify the first certificate',
      'unable to get (?:local )?issuer certificate',
      'self[- ]signed certificate',
      'unable to verify leaf signature',
      'certificate signature failure',
      'invalid CA certificate',
      'unsuitable certificate purpose',
    ),
    "the service's TLS certificate is not signed by a CA this gateway trusts " +
      "(ENTITLEMENT_GRPC_CA_FILE, or Node's trusted roots without it)",
  ],
  [
    /wrong version number|packet length too long|unknown protocol|http request/i,
    "the service's gRPC port does not speak TLS (GRPC_TLS_CERT_FILE unset there) and this " +
      'gateway does',
  ],
  [
    /alert certificate required/i,
    'the service requires a client certificate (GRPC_TLS_CLIENT_CA_FILE there): set ' +
      'ENTITLEMENT_GRPC_CERT_FILE and ENTITLEMENT_GRPC_KEY_FILE',
  ],
  [
    anyOf(
      ...[
        'unknown ca',
        'bad certificate',
        'certificate unknown',
        'unsupported certificate',
        'certificate expired',
        'certificate revoked',
        'access denied',
      ].map((alert) => `alert ${alert}`),
    ),
    "the service refuses this gateway's client certificate (ENTITLEMENT_GRPC_CERT_FILE): its " +
      'GRPC_TLS_CLIENT_CA_FILE must have signed it, and it must be valid',
  ],
  // Alerts that say the two ends' settings cannot agree. Others (an internal error, a bad
  // record MAC) may come from an overloaded or failing peer: an outage, not classified here.
  [
    anyOf(
      'alert handshake failure',
      'alert protocol version',
      'alert no application protocol',
      'no shared cipher',
      'unsupported protocol',
    ),
    'the TLS handshake with the service failed: the two ends share no TLS version or cipher',
  ],
];

/**
 * The TLS failure the details show, or undefined when they show none: the two ends disagree
 * about TLS (a certificate not trusted, a port without TLS, a client certificate refused),
 * which is a misconfiguration, not an outage, and no retry mends it.
 */
export function tlsFailure(details: string): string | undefined {
  // Only the channel's own failure: an UNAVAILABLE the service answered has its own words.
  if (!details.includes(NO_CONNECTION)) return undefined;
  return TLS_FAILURES.find(([pattern]) => pattern.test(details))?.[1];
}

/**
 * The connection was closed before gRPC started, and the details do not say why: what a
 * port with TLS does to a plaintext client, and one with mutual TLS to a TLS 1.3 client whose
 * certificate it refuses (grpc-js sees no alert then), but also what a stopping or overloaded
 * server may do.
 */
export function closedWithoutReason(details: string): boolean {
  return /socket disconnected before secure TLS connection|Failed to connect/i.test(details);
}

/**
 * Why there is no connection, when the details say (a TLS failure, or what else they show),
 * for a gateway that speaks TLS to the service (`tls`) or not.
 */
export function connectionFailure(details: string, tls: boolean): string | undefined {
  const failure = tlsFailure(details);
  if (failure) return failure;
  if (/ECONNREFUSED/.test(details)) return 'nothing listens at ENTITLEMENT_GRPC_URL';
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN/i.test(details))
    return "ENTITLEMENT_GRPC_URL's host name does not resolve";
  if (/ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/.test(details))
    return 'ENTITLEMENT_GRPC_URL cannot be reached';
  if (closedWithoutReason(details))
    return tls
      ? 'the service closed the connection before gRPC started: with GRPC_TLS_CLIENT_CA_FILE ' +
          "there, it refuses this gateway's client certificate (ENTITLEMENT_GRPC_CERT_FILE) or " +
          'its lack'
      : 'the service closed the connection before gRPC started: if its gRPC port speaks TLS ' +
          '(GRPC_TLS_CERT_FILE), set ENTITLEMENT_GRPC_TLS or ENTITLEMENT_GRPC_CA_FILE here';
  return undefined;
}

/** What a plaintext gateway learns when the service's port turns out to speak TLS (speaksTls). */
export const PLAINTEXT_TO_TLS =
  "the service's gRPC port speaks TLS (GRPC_TLS_CERT_FILE there) and this gateway does not: " +
  'set ENTITLEMENT_GRPC_TLS or ENTITLEMENT_GRPC_CA_FILE';

/** Host and port of a grpc-js target: `host:port`, `[::1]:port`, `dns:host:port`, `dns:///…`. */
export function targetAddress(target: string): { host: string; port: number } | undefined {
  const rest = target.replace(/^dns:(?:\/\/[^/]*\/)?/, '');
  const match = /^(?:\[([^\]]+)\]|([^:/]+)):(\d{1,5})$/.exec(rest);
  if (!match) return undefined;
  const port = Number(match[3]);
  return port > 0 && port < 65536 ? { host: match[1] ?? match[2], port } : undefined;
}

/**
 * Whether a TLS handshake with `address` completes within `timeoutMs`, its certificate
 * unchecked (only whether the port speaks TLS). grpc-js tells a plaintext client of a TLS port
 * only that the connection closed, as a stopping server may do too; a handshake that
 * completes tells the two apart, so that a gateway left plaintext when the service turned TLS
 * on is a misconfiguration (no route fails open on it), not an outage.
 */
export function speaksTls(
  address: { host: string; port: number },
  timeoutMs = 1000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({
      host: address.host,
      port: address.port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...(isIP(address.host) ? {} : { servername: address.host }),
    });
    const done = (tls: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(tls);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
