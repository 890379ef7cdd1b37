import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CheckResponse } from '@paygate/contracts';
import { PayAndRetry } from '../payments/pay-and-retry';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { apiKeyFrom, apiKeyId } from '../auth/api-key';
import { GatewayConfig } from '../config/gateway.config';
import { denialProblem, unauthenticated } from '../decisions/denial-problem';
import { WARNING_HEADER, warningHeader } from '../decisions/decision-warnings';
import { EntitlementUnavailableError } from '../decisions/entitlement.client';
import type { AdmissionRequest } from '../leases/admission-request';
import { LeasesService } from '../leases/leases.service';
import { BodyLimit } from './body-limit';
import { allowReading, answerPreflight, isPreflight, withVary } from './cors';
import { withoutHopByHop } from './hop-by-hop';
import { RateLimitState, rateLimitHeaders } from '../rate-limits/fixed-window-limiter';
import { RateLimitsService } from '../rate-limits/rate-limits.service';
import { rateLimited } from '../rate-limits/rate-limited.problem';
import {
  ConcurrencyLimitsService,
  NOTHING_TO_RELEASE,
} from '../concurrency/concurrency-limits.service';
import { concurrencyLimited } from '../concurrency/concurrency-limited.problem';
import { requestCost } from '../routes/request-cost';
import { routedTarget } from '../routes/request-path';
import { RouteDefinition } from '../routes/route';
import { RoutesService } from '../routes/routes.service';
import { CALLER_LEFT, refuse, requests, upstreamLatency } from './proxy-answers';
import { ProxyRequest } from './proxy-request';
import { andThen, type MaybePromise } from './maybe-async';
import { UpstreamForwarder } from './upstream-forwarder';
import { upstreamHeaders } from './upstream-headers';
import { ServedUsage } from '../usage/served-usage';
import { UsagePublisher } from '../usage/usage.publisher';

/** Ends the caller's connection with the answer (see onFailure in forward). */
const CLOSE = { connection: 'close' } as const;

/** What an allowed request's plan limits leave it: the rate window's state and a slot. */
interface Limits {
  rate: RateLimitState | undefined;
  /** Gives the concurrency slot back (a no-op without a concurrency limit). */
  release: () => void;
}

/**
 * The policy enforcement point: match a route, authenticate, ask for a decision, and either
 * answer with a problem or stream the request to the upstream and meter it once served.
 */
@Injectable()
export class ProxyHandler {
  private readonly logger = new Logger(ProxyHandler.name);

  constructor(
    private readonly routes: RoutesService,
    private readonly leases: LeasesService,
    private readonly usage: UsagePublisher,
    private readonly servedUsage: ServedUsage,
    private readonly rateLimits: RateLimitsService,
    private readonly concurrency: ConcurrencyLimitsService,
    private readonly forwarder: UpstreamForwarder,
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    private readonly payAndRetry: PayAndRetry,
  ) {}

  async handle(request: ProxyRequest, res: ServerResponse): Promise<void> {
    // Routed and forwarded in one normalized form (no dot segments, `//` or encoded dots).
    const target = routedTarget(request.url, request.headers.host);
    if (!target.ok)
      return refuse(request, res, 'unmatched', {
        code: 'bad-request',
        // In the caller's language, as `errors`' one entry too (field `path`).
        variant: target.refusal,
        field: 'path',
      });
    // A browser's preflight, for a route that answers them: the route the request it asks
    // about (the method it names) would take. Any other preflight is a request like the rest.
    if (isPreflight(request.method, request.headers)) {
      const asked = this.routes.match({
        path: target.path,
        host: request.headers.host,
        method: String(request.headers['access-control-request-method']),
      }).route;
      if (asked?.cors) {
        answerPreflight(res, asked, asked.cors, request.headers, String(request.id));
        requests.inc({ route: asked.name, status: '204', code: '' });
        return;
      }
    }
    const match = this.routes.match({
      path: target.path,
      host: request.headers.host,
      method: request.method,
    });
    if (!match.route) {
      if (match.allowedMethods.length > 0) {
        return refuse(request, res, 'unmatched', {
          code: 'method-not-allowed',
          headers: { allow: match.allowedMethods.join(', ') },
        });
      }
      return refuse(request, res, 'unmatched', {
        code: 'not-found',
        // Translated, unlike a detail written here: the caller may be a person in a browser.
        variant: 'no-route',
      });
    }
    const route = match.route;
    if (route.cors) allowReading(res, route.cors, request.headers.origin);
    const apiKey = apiKeyFrom(request.headers);
    const anonymous = !apiKey && this.payAndRetry.allowsAnonymous(route);
    if (!apiKey && !anonymous) return refuse(request, res, route.name, unauthenticated());
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > this.config.BODY_LIMIT_BYTES) {
      return refuse(request, res, route.name, {
        code: 'payload-too-large',
        extensions: { limit: this.config.BODY_LIMIT_BYTES },
      });
    }
    const priced = requestCost(route, request.headers);
    if (!priced.ok) {
      return refuse(request, res, route.name, {
        code: 'validation-failed',
        detail: `${priced.field} ${priced.message}.`,
        extensions: { errors: [{ field: priced.field, messages: [priced.message] }] },
      });
    }
    const cost = priced.cost;
    if (cost > 0 && this.usage.saturated) {
      // Kafka has not taken usage for a while and the buffer is full: serving now would
      // mean serving unmetered, so the gateway pushes back instead.
      return refuse(request, res, route.name, {
        code: 'service-unavailable',
        headers: { 'retry-after': '1' },
      });
    }
    // Only a route that sells anonymous calls gets this far without a key.
    if (!apiKey) return this.payPerCall(request, res, route, cost, target.path + target.query);
    const keyId = apiKeyId(apiKey);
    const early = this.rateLimits.beforeDecision(keyId, route.feature, Date.now());
    if (early) return refuse(request, res, route.name, rateLimited(route.feature, early));
    const ask = {
      apiKey,
      keyId,
      feature: route.feature,
      cost,
      requestId: String(request.id),
      requiredScopes: route.scopes ?? [],
    };
    // Most requests are admitted from a lease this replica holds, with nothing to wait for.
    const admitted = this.leases.admitHeld(ask) ?? (await this.decide(request, res, route, ask));
    if (!admitted) return;
    let decision = admitted;
    if (this.payAndRetry.applies(route, decision)) {
      const paid = await this.payAndRetry.keyed(route, request, res, ask, decision);
      if (paid.kind === 'refused')
        return refuse(request, res, route.name, paid.problem, paid.customerId);
      decision = paid.decision;
    }
    if (!decision.allowed) {
      return refuse(
        request,
        res,
        route.name,
        this.payAndRetry.withOffers(route, request, denialProblem(decision), decision),
        decision.customerId,
      );
    }
    const pending = this.limits(request, res, route, keyId, decision, cost);
    const limits = pending instanceof Promise ? await pending : pending;
    if (limits)
      this.forward(request, res, route, decision, limits, cost, target.path + target.query);
  }

  /**
   * The decision for a request no lease held here could admit: a lease request (or, for a
   * route that fails open, a recent grant while the service cannot answer). Undefined once the
   * request was refused.
   */
  private async decide(
    request: ProxyRequest,
    res: ServerResponse,
    route: RouteDefinition,
    ask: AdmissionRequest,
  ): Promise<CheckResponse | undefined> {
    try {
      return await this.leases.admit(ask).catch((err: unknown) => {
        const open =
          err instanceof EntitlementUnavailableError &&
          !err.misconfigured &&
          route.failurePolicy === 'open'
            ? this.leases.admitFailingOpen(ask)
            : undefined;
        if (!open) throw err;
        return open;
      });
    } catch (err) {
      if (!(err instanceof EntitlementUnavailableError)) throw err;
      this.logger.warn({ err: err.message, requestId: request.id }, 'entitlement unavailable');
      refuse(request, res, route.name, {
        code: 'entitlement-unavailable',
        headers: { 'retry-after': '1' },
      });
      return undefined;
    }
  }

  /**
   * A request without an API key on a route that sells anonymous calls: served only once its
   * own payment was settled and credited to the payer's account (PayAndRetry.anonymous), then
   * rate-limited and metered for that customer like a keyed request.
   */
  private async payPerCall(
    request: ProxyRequest,
    res: ServerResponse,
    route: RouteDefinition,
    cost: number,
    url: string,
  ): Promise<void> {
    const paid = await this.payAndRetry.anonymous(route, request, res, cost);
    if (paid.kind === 'refused')
      return refuse(request, res, route.name, paid.problem, paid.customerId);
    const { decision } = paid;
    const keyId = paid.keyId as string;
    const limits = await this.limits(request, res, route, keyId, decision, cost);
    if (limits) this.forward(request, res, route, decision, limits, cost, url);
  }

  /**
   * The plan's concurrency limit, then its rate limit, for an allowed request: a slot and the
   * rate window's state, or undefined once a 429 was sent (its units given back). The slot is
   * taken first so that a request refused for concurrency does not use up the rate window.
   */
  private limits(
    request: ProxyRequest,
    res: ServerResponse,
    route: RouteDefinition,
    keyId: string,
    decision: CheckResponse,
    cost: number,
  ): MaybePromise<Limits | undefined> {
    return andThen(this.concurrency.acquire(decision, route.feature), (slot) => {
      if (!slot.allowed) {
        this.giveBack(decision, cost, 'concurrency limited');
        refuse(request, res, route.name, concurrencyLimited(route.feature, slot.limit));
        return undefined;
      }
      const now = Date.now();
      return andThen(this.rateLimits.afterDecision(keyId, route.feature, decision, now), (rate) => {
        if (rate && !rate.allowed) {
          slot.release();
          this.giveBack(decision, cost, 'rate limited');
          refuse(request, res, route.name, rateLimited(route.feature, rate));
          return undefined;
        }
        return { rate, release: slot.release };
      });
    });
  }

  private forward(
    request: ProxyRequest,
    res: ServerResponse,
    route: RouteDefinition,
    decision: CheckResponse,
    { rate, release }: Limits,
    cost: number,
    url: string,
  ): void {
    if (res.destroyed) {
      // The caller hung up while the request was decided: its 'close' has passed, so nothing
      // would give the slot back or cancel the upstream call. Nothing served, nothing charged.
      release();
      this.giveBack(decision, cost, 'caller gone before forwarding');
      return;
    }
    request.leaseId = decision.leaseId;
    // The concurrency slot is held until the response ends, answered or cut off (a listener
    // only when there is a slot: most plans set no concurrency limit).
    if (release !== NOTHING_TO_RELEASE) res.once('close', release);
    const started = performance.now();
    const stop = () =>
      upstreamLatency.observe({ route: route.name }, (performance.now() - started) / 1000);
    // A body without Content-Length is measured as it streams through.
    let limiter: BodyLimit | undefined;
    let body = request.body;
    if (body && request.headers['content-length'] === undefined) {
      const streamed = body;
      limiter = new BodyLimit(this.config.BODY_LIMIT_BYTES);
      streamed.on('error', (err) => limiter?.destroy(err));
      body = streamed.pipe(limiter);
    }
    const target = this.routes.upstreamTarget(route, url);
    this.forwarder.forward(
      {
        // Named, not spread: a spread in this literal made it the costliest line of the path.
        origin: target.origin,
        path: target.path,
        method: request.method,
        headers: upstreamHeaders(request, decision.customerId),
        body,
        timeoutMs: this.config.UPSTREAM_TIMEOUT_MS,
        minBodyBytesPerSecond: this.config.BODY_MIN_BYTES_PER_SECOND,
      },
      res,
      {
        onResponse: (_status, headers) => {
          // The upstream's connection-specific fields describe its hop, not the caller's.
          // What the gateway set on `res` (X-Request-Id, a payment receipt) wins over these.
          const out: OutgoingHttpHeaders = withoutHopByHop(headers);
          if (route.cors) withVary(res, out);
          const warning = warningHeader(decision);
          if (warning) out[WARNING_HEADER] = warning;
          if (rate) Object.assign(out, rateLimitHeaders(route.feature, rate));
          return out;
        },
        onAnswered: (status) => {
          stop();
          this.served(request, route, decision, cost, status);
        },
        onFailure: (error, failure) => {
          stop();
          // The upstream had the whole request when its caller hung up: what it did is not
          // undone by that, so it is charged as served (499, as nginx logs a caller that left).
          // A caller could otherwise take any answer the upstream works on for free.
          if (failure === 'abandoned')
            return this.served(request, route, decision, cost, CALLER_LEFT);
          this.giveBack(decision, cost, `upstream ${failure}: ${error.message}`);
          if (failure === 'cancelled') return;
          // A body the upstream did not read to its end stays unread on the caller's
          // connection, where the next request would wait behind it: this answer closes it.
          const headers = request.body?.readableEnded === false ? CLOSE : undefined;
          if (limiter?.exceeded) {
            return refuse(request, res, route.name, {
              code: 'payload-too-large',
              extensions: { limit: this.config.BODY_LIMIT_BYTES },
              headers,
            });
          }
          // The caller stopped sending its body: its own doing, answered 408 (if it still
          // listens) with the connection closed, as the rest of its body will not come.
          if (failure === 'caller-timeout')
            return refuse(request, res, route.name, { code: 'request-timeout', headers: CLOSE });
          this.logger.warn(
            { err: error.message, requestId: request.id, route: route.name },
            'upstream failed',
          );
          return refuse(request, res, route.name, {
            code: failure === 'timeout' ? 'upstream-timeout' : 'upstream-unavailable',
            headers,
          });
        },
      },
    );
  }

  /** The upstream answered: meter the request, or give its units back if it failed. */
  private served(
    request: ProxyRequest,
    route: RouteDefinition,
    decision: CheckResponse,
    cost: number,
    status: number,
  ): void {
    if (status >= 500 && !route.meterUpstreamErrors) {
      // A failed upstream did not serve the customer: give the units back, meter nothing.
      this.giveBack(decision, cost, `upstream answered ${status}`);
    } else {
      this.servedUsage.record(
        {
          customerId: decision.customerId,
          leaseId: decision.leaseId,
          requestId: String(request.id),
          feature: route.feature,
          route: route.name,
          method: request.method,
          status,
          units: cost,
        },
        route.usageEvents === 'per-request',
      );
    }
    requests.inc({ route: route.name, status: String(status), code: '' });
  }

  /** The units of a request that was not served: not charged, free for another request. */
  private giveBack(decision: CheckResponse, units: number, reason: string): void {
    if (decision.leaseId && units > 0) this.leases.giveBack(decision, units, reason);
  }
}
