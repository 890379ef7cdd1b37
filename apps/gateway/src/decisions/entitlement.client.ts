import { type Client, connectivityState, Metadata, status } from '@grpc/grpc-js';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import {
  ENTITLEMENT_GRPC_SERVICE,
  type CheckRequest,
  type CheckResponse,
  type EntitlementServiceClient,
  type CompleteSettlementRequest,
  type PaymentSettlement,
  type RecordPaymentRequest,
  type RecordPaymentResponse,
  type TakeRateWindowRequest,
  type TakeRateWindowResponse,
  type HoldConcurrencyRequest,
  type HoldConcurrencyResponse,
} from '@paygate/contracts';
import { gauge, histogram, ReadinessFailure } from '@paygate/observability';
import { firstValueFrom } from 'rxjs';
import { GatewayConfig } from '../config/gateway.config';
import { connectionFailure } from './connection-failure';
import { TlsConnectionState } from './tls-connection-state';
import { TokenState } from './token-state';

export const ENTITLEMENT_CLIENT = Symbol('ENTITLEMENT_CLIENT');

const decisionLatency = histogram(
  'paygate_gateway_decision_seconds',
  'Latency of entitlement decisions by outcome',
  ['outcome'],
  // Up to PAYMENT_CALL_TIMEOUT_MS's default: a paid request's admission may wait that long.
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 2, 5, 10],
);

/**
 * The payment calls (journal and credit, the settlement rounds'): how long one customer's
 * payments queue shows here first, before any request is answered 503 for it.
 */
const paymentCallLatency = histogram(
  'paygate_gateway_payment_call_seconds',
  "Latency of the entitlement service's payment calls by call and outcome",
  ['call', 'outcome'],
  [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
);

/** Reads the channel the gauge below reports (one per gateway; the last started in tests). */
let reported: (() => string) | undefined;

gauge(
  'paygate_gateway_entitlement_channel',
  'The gRPC channel to the entitlement service by connectivity state: 1 for the state it is in ' +
    '(READY: decisions can be asked; TRANSIENT_FAILURE: the service is unreachable), 0 for the rest',
  ['state'],
  function () {
    let now: string | undefined;
    try {
      now = reported?.();
    } catch {
      // A client closed meanwhile: no state is 1, and the scrape still answers.
    }
    for (const state of ['IDLE', 'CONNECTING', 'READY', 'TRANSIENT_FAILURE', 'SHUTDOWN'])
      this.set({ state }, state === now ? 1 : 0);
  },
);

/**
 * Thrown when the decision service cannot answer (down, deadline exceeded). `code`: the gRPC
 * status, when the service (or the channel) gave one. `tlsFailure`: why no connection comes
 * up, when TLS is (see connection-failure.ts).
 */
export class EntitlementUnavailableError extends Error {
  constructor(
    message: string,
    readonly code?: status,
    readonly tlsFailure?: string,
  ) {
    super(message);
  }

  /** The service answered, refusing this gateway's token. */
  get tokenRefused(): boolean {
    return this.code === status.UNAUTHENTICATED;
  }

  /**
   * The token was refused, or the TLS handshake failed: a misconfiguration of this gateway
   * (or of the service), not an outage to serve through (no route fails open on it).
   */
  get misconfigured(): boolean {
    return this.tokenRefused || this.tlsFailure !== undefined;
  }
}

/**
 * Thrown by recordPayment when the decision service answered and refused the call for what it
 * asks (a malformed field, credits past the balance bound, an unknown customer): the same call
 * would be refused again, unlike an EntitlementUnavailableError. `code` is the gRPC status.
 */
export class EntitlementRefusedError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

/** gRPC statuses that refuse the request itself (anything else: the service is unavailable). */
const REFUSALS: ReadonlySet<number> = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
]);

/** Deadline of /ready's own call; its checks have 2 s in all, reachable() up to 1 s of them. */
const TOKEN_PROBE_TIMEOUT_MS = 800;

type GrpcMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: number },
) => import('rxjs').Observable<Res>;

/** The gateway's side of the gRPC contract, with a deadline on every call. */
@Injectable()
export class EntitlementClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EntitlementClient.name);
  private service!: EntitlementServiceClient;
  /** The metadata value every call carries (ENTITLEMENT_GRPC_TOKEN), if any. */
  private readonly authorization: string | undefined;
  /** Whether the service takes the token (what calls tell it; a taken call clears a refusal). */
  private readonly tokenState: TokenState;
  /** Whether TLS is why calls find no connection (what they tell it; an answer clears it). */
  private readonly tlsConnection: TlsConnectionState;

  constructor(
    @Inject(ENTITLEMENT_CLIENT) private readonly client: ClientGrpc,
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
  ) {
    const token = config.ENTITLEMENT_GRPC_TOKEN;
    this.authorization = token ? `Bearer ${token}` : undefined;
    this.tokenState = new TokenState(this.logger, this.authorization !== undefined);
    this.tlsConnection = new TlsConnectionState(
      this.logger,
      config.entitlementGrpcTls,
      String(config.ENTITLEMENT_GRPC_URL),
    );
  }

  /**
   * Resolves once the service can be reached: its channel is READY, or becomes so within
   * `waitMs` (connecting if idle); else fails naming the channel's state and, when a call
   * tells, why (e.g. its TLS certificate is not trusted). For /ready: a gateway that cannot
   * reach the service admits nothing beyond the leases it holds.
   */
  async reachable(waitMs = 1000): Promise<void> {
    const channel = this.client
      .getClientByServiceName<Client>(ENTITLEMENT_GRPC_SERVICE)
      .getChannel();
    const deadline = Date.now() + waitMs;
    let state = channel.getConnectivityState(true);
    while (state !== connectivityState.READY) {
      if (Date.now() >= deadline) {
        // Not the address: /ready is on the public port.
        const why = await this.connectionFailure();
        throw new ReadinessFailure(
          `the entitlement service's gRPC channel is ${connectivityState[state]}${
            why ? `: ${why}` : ''
          }`,
        );
      }
      const from = state;
      await new Promise<void>((resolve) =>
        channel.watchConnectivityState(from, deadline, () => resolve()),
      );
      state = channel.getConnectivityState(true);
    }
  }

  /**
   * Fails (for /ready) while the service refuses this gateway's ENTITLEMENT_GRPC_TOKEN, or
   * the TLS handshake with it fails: every decision and payment call fails then, and out of
   * its load balancer the gateway stops a rollout with a wrong token or certificate instead of
   * answering 503s. Unless a call was taken lately (see TokenState), asks the service with
   * an empty CloseLeases (no lease, no database work); any other failure (unreachable, slow)
   * is reachable()'s business.
   */
  async authenticated(): Promise<void> {
    if (this.tlsConnection.failure === undefined && this.tokenState.takenLately) return;
    await this.probe();
    const refusal = this.tokenState.refusal;
    if (refusal !== undefined) throw new ReadinessFailure(refusal);
    const tlsFailure = this.tlsConnection.failure;
    if (tlsFailure !== undefined)
      throw new ReadinessFailure(`no TLS connection to the entitlement service: ${tlsFailure}`);
  }

  /** An empty CloseLeases (no lease, no database work): its error, if it failed. */
  private probe(): Promise<EntitlementUnavailableError | undefined> {
    return this.call(this.service.closeLeases, { leaseIds: [] }, false, TOKEN_PROBE_TIMEOUT_MS)
      .then(() => undefined)
      .catch((err: unknown) => (err instanceof EntitlementUnavailableError ? err : undefined));
  }

  /**
   * Why the channel has no connection, as far as a call tells (one that fails at once on a
   * channel in TRANSIENT_FAILURE, carrying its last connection error).
   */
  private async connectionFailure(): Promise<string | undefined> {
    const err = await this.probe();
    if (err?.code !== status.UNAVAILABLE) return undefined;
    return connectionFailure(err.message, this.config.entitlementGrpcTls);
  }

  onModuleInit(): void {
    this.service = this.client.getService<EntitlementServiceClient>(ENTITLEMENT_GRPC_SERVICE);
    reported = this.reportConnectivity;
  }

  onModuleDestroy(): void {
    if (reported === this.reportConnectivity) reported = undefined;
  }

  private readonly reportConnectivity = (): string => this.connectivity();

  /** The channel's state now (not connecting an idle one), for the gauge. */
  connectivity(): string {
    const channel = this.client
      .getClientByServiceName<Client>(ENTITLEMENT_GRPC_SERVICE)
      .getChannel();
    return connectivityState[channel.getConnectivityState(false)];
  }

  /**
   * `paid`: the request's own payment was credited (see PAYMENT_CALL_TIMEOUT_MS), so it waits
   * longer than a decision for its answer.
   */
  async check(request: CheckRequest, paid = false): Promise<CheckResponse> {
    const stop = decisionLatency.startTimer();
    try {
      const response = await this.call(
        this.service.check,
        request,
        false,
        paid ? this.config.PAYMENT_CALL_TIMEOUT_MS : this.config.DECISION_TIMEOUT_MS,
      );
      stop({ outcome: response.allowed ? 'allowed' : (response.denial?.code ?? 'denied') });
      return response;
    } catch (err) {
      stop({ outcome: 'unavailable' });
      throw err;
    }
  }

  /**
   * Gives `units` of a lease back (all it still holds when 0). With `close`, gives back exactly
   * `units` and reports the rest of the lease as served (see ReleaseRequest in the proto).
   */
  async release(
    leaseId: string,
    reason: string,
    units = 0,
    close = false,
    releaseId = '',
  ): Promise<boolean> {
    const response = await this.call(this.service.release, {
      leaseId,
      reason,
      units,
      close,
      ...(releaseId ? { releaseId } : {}),
    });
    return response.released;
  }

  /**
   * Closes leases this gateway used up (see CloseLeases in the proto): how many the call
   * closed. UNIMPLEMENTED (as `code`) from a service older than the call.
   */
  async closeLeases(leaseIds: string[]): Promise<number> {
    const response = await this.call(this.service.closeLeases, { leaseIds });
    return response.closed ?? 0;
  }

  /**
   * Turns a settled payment into credits, once per `paymentId`: a repeat (a replayed
   * credential, or this call retried after an unavailable answer) answers `replayed` and
   * grants nothing. Throws EntitlementUnavailableError when the service cannot answer (safe to
   * retry), EntitlementRefusedError when it refuses the payment (retrying would not help).
   */
  async recordPayment(request: RecordPaymentRequest): Promise<RecordPaymentResponse> {
    return this.paymentCall('record-payment', this.service.recordPayment, request);
  }

  /** `upto` authorizations whose hold ended, claimed for this gateway to settle (see the proto). */
  async claimSettlements(limit: number, claimSeconds: number): Promise<PaymentSettlement[]> {
    const response = await this.paymentCall('claim-settlements', this.service.claimSettlements, {
      limit,
      claimSeconds,
    });
    return response.settlements ?? [];
  }

  /** Reports what became of a claimed settlement; false when it was not being settled. */
  async completeSettlement(request: CompleteSettlementRequest): Promise<boolean> {
    const response = await this.paymentCall(
      'complete-settlement',
      this.service.completeSettlement,
      request,
    );
    return response.completed;
  }

  /**
   * Takes up to `units` of a plan rate limit's window for this gateway (see the proto): what
   * every gateway takes is counted together, never past the limit.
   */
  async takeRateWindow(request: TakeRateWindowRequest): Promise<TakeRateWindowResponse> {
    return this.call(this.service.takeRateWindow, request);
  }

  /**
   * Sets the slots of a plan concurrency limit this gateway holds (see the proto): what every
   * gateway holds never sums past the limit.
   */
  async holdConcurrency(request: HoldConcurrencyRequest): Promise<HoldConcurrencyResponse> {
    return this.call(this.service.holdConcurrency, request);
  }

  /** A payment call: refusals told apart, PAYMENT_CALL_TIMEOUT_MS, timed by call and outcome. */
  private async paymentCall<Req, Res>(
    call: string,
    method: GrpcMethod<Req, Res>,
    request: Req,
  ): Promise<Res> {
    const stop = paymentCallLatency.startTimer({ call });
    try {
      const response = await this.call(method, request, true, this.config.PAYMENT_CALL_TIMEOUT_MS);
      stop({ outcome: 'ok' });
      return response;
    } catch (err) {
      stop({ outcome: err instanceof EntitlementRefusedError ? 'refused' : 'unavailable' });
      throw err;
    }
  }

  private async call<Req, Res>(
    method: GrpcMethod<Req, Res>,
    request: Req,
    refusals = false,
    timeoutMs = this.config.DECISION_TIMEOUT_MS,
  ): Promise<Res> {
    const metadata = new Metadata();
    if (this.authorization) metadata.set('authorization', this.authorization);
    try {
      const response = await firstValueFrom(
        method.call(this.service, request, metadata, { deadline: Date.now() + timeoutMs }),
      );
      // The service took the call: a TLS failure's end is logged before a refusal's.
      this.tlsConnection.connected();
      this.tokenState.taken();
      return response;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // The service itself refused the call: whatever kept it out before, TLS let it in.
      if (code === status.UNAUTHENTICATED || (typeof code === 'number' && REFUSALS.has(code)))
        this.tlsConnection.connected();
      // As any other answer it cannot act on, but no route fails open on it (tokenRefused).
      if (code === status.UNAUTHENTICATED) this.tokenState.refusedNow();
      // No connection: a TLS failure is a misconfiguration too (no route fails open on it).
      const tls =
        code === status.UNAVAILABLE ? this.tlsConnection.connectionFailed(err as Error) : undefined;
      if (refusals && typeof code === 'number' && REFUSALS.has(code)) {
        throw new EntitlementRefusedError(code, (err as Error).message);
      }
      throw new EntitlementUnavailableError(
        (err as Error).message,
        typeof code === 'number' ? code : undefined,
        tls,
      );
    }
  }
}
