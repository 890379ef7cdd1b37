import type { Logger } from '@nestjs/common';
import {
  PLAINTEXT_TO_TLS,
  closedWithoutReason,
  speaksTls,
  targetAddress,
  tlsFailure,
} from './connection-failure';

/**
 * A plaintext gateway probes the service's port for TLS at most this often: the probe is one
 * handshake, and calls that find no connection come once per request.
 */
const TLS_PROBE_INTERVAL_MS = 5000;

/**
 * Whether the gateway's connection to the entitlement service fails for TLS, and why: what the
 * client's calls tell (see connection-failure.ts), for its errors and /ready. Invariants:
 * `failure` is set only by a call that found no connection (or by the probe), and cleared only
 * by a call the service answered; each failure is logged once when it starts, not per call,
 * and its end once; a plaintext gateway probes at most every TLS_PROBE_INTERVAL_MS, one probe
 * at a time, never per request, and one with TLS configured never.
 */
export class TlsConnectionState {
  /** Why the last call found no connection, when TLS was why (an answer clears it). */
  private tlsFailure: string | undefined;
  /** A plaintext gateway's TLS probe of the service's port (speaksTls): under way, and when. */
  private tlsProbe: { running: boolean; at: number } = { running: false, at: 0 };
  /** Where the probe connects: none for a target it cannot read (no probe then). */
  private readonly address: { host: string; port: number } | undefined;

  /**
   * `tls`: the gateway speaks TLS to the service (config.entitlementGrpcTls). `target`: the
   * service's address (ENTITLEMENT_GRPC_URL).
   */
  constructor(
    private readonly logger: Pick<Logger, 'log' | 'error'>,
    private readonly tls: boolean,
    target: string,
  ) {
    this.address = targetAddress(target);
  }

  /** Why there is no connection, when TLS is why (until the service answers a call). */
  get failure(): string | undefined {
    return this.tlsFailure;
  }

  /** The service answered a call: there is a connection, TLS failed no more. */
  connected(): void {
    if (this.tlsFailure === undefined) return;
    this.tlsFailure = undefined;
    this.logger.log('The TLS connection to the entitlement service is up again');
  }

  /**
   * A call found no connection: the TLS failure that explains it (logged once per cause, with
   * grpc-js's own words, which the log may show: it is not on the public port), if any.
   */
  connectionFailed(err: Error): string | undefined {
    const failure = tlsFailure(err.message);
    const before = this.tlsFailure;
    // A connection closed without a reason (see connectionFailure) neither shows nor rules out
    // a TLS failure: what was known stands until the service answers or fails otherwise.
    if (failure === undefined && closedWithoutReason(err.message)) {
      if (!this.tls) this.probeTls();
      return before;
    }
    this.tlsFailure = failure;
    if (failure !== undefined && failure !== before)
      this.logFailure(failure, { details: (err as { details?: unknown }).details });
    return failure;
  }

  /**
   * A plaintext gateway whose connections are closed before gRPC starts: whether the service's
   * port speaks TLS (one handshake, at most every TLS_PROBE_INTERVAL_MS, never per request). If
   * it does, that is the TLS failure from then on (until the service answers a call), and
   * routes stop failing open; the calls made before the answer came are treated as an outage.
   */
  private probeTls(): void {
    const address = this.address;
    if (!address || this.tlsProbe.running || Date.now() - this.tlsProbe.at < TLS_PROBE_INTERVAL_MS)
      return;
    this.tlsProbe = { running: true, at: Date.now() };
    void speaksTls(address).then((tls) => {
      this.tlsProbe = { running: false, at: Date.now() };
      if (!tls || this.tlsFailure !== undefined) return;
      this.tlsFailure = PLAINTEXT_TO_TLS;
      this.logFailure(PLAINTEXT_TO_TLS);
    });
  }

  /**
   * The one error a TLS failure logs when it starts. `context` (grpc-js's details, when a call
   * brought them) goes first, as the logger takes structured fields; the probe has none.
   */
  private logFailure(failure: string, context?: { details: unknown }): void {
    const message =
      `No TLS connection to the entitlement service: ${failure}. Until there is, requests it ` +
      'must ask about are answered 503 (no route fails open on it) and /ready fails';
    if (context) this.logger.error(context, message);
    else this.logger.error(message);
  }
}
