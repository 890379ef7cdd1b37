import type { ProblemCode } from '@paygate/contracts';

export interface ProblemDefinition {
  status: number;
  title: string;
  /** English detail; `{name}` placeholders are filled from the problem's extension members. */
  detail: string;
}

const statusOverrides = new Map<ProblemCode, number>();

/** The HTTP status a code answers with in this deployment. */
export function problemStatus(code: ProblemCode): number {
  return statusOverrides.get(code) ?? PROBLEM_REGISTRY[code].status;
}

/**
 * Per-deployment statuses (ARCHITECTURE.md §3), e.g. "feature-not-in-plan=403": some
 * operators answer 403 where paygate's default is 402. Throws, naming the entry, on an
 * unknown code or a status outside 400–599; an empty spec restores the defaults.
 */
export function setProblemStatuses(spec: string): void {
  const parsed = new Map<ProblemCode, number>();
  for (const entry of spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [code, status] = entry.split('=').map((p) => p.trim());
    if (!(code in PROBLEM_REGISTRY))
      throw new Error(`PROBLEM_STATUSES: "${entry}" names no problem code`);
    const value = Number(status);
    if (!Number.isInteger(value) || value < 400 || value > 599)
      throw new Error(`PROBLEM_STATUSES: "${entry}" needs a status from 400 to 599`);
    parsed.set(code as ProblemCode, value);
  }
  statusOverrides.clear();
  for (const [code, status] of parsed) statusOverrides.set(code, status);
}

/** Base of every problem `type` URI; a problem's type is `${PROBLEM_TYPE_BASE}${code}`. */
export const PROBLEM_TYPE_BASE = 'https://paygate.dev/problems/';

/**
 * One entry per stable problem code (ARCHITECTURE.md §3). The record type makes the mapping
 * exhaustive: adding a code to the contract without a definition fails to compile.
 */
export const PROBLEM_REGISTRY: Record<ProblemCode, ProblemDefinition> = {
  unauthenticated: {
    status: 401,
    title: 'Unauthenticated',
    detail: 'A valid API key is required. Send it as "Authorization: Bearer <key>" or "X-API-Key".',
  },
  forbidden: { status: 403, title: 'Forbidden', detail: 'This API key is not allowed to do this.' },
  'customer-blocked': {
    status: 403,
    title: 'Account blocked',
    detail: 'This account is blocked by the API provider. Contact them to have it unblocked.',
  },
  'subscription-expired': {
    status: 402,
    title: 'Subscription expired',
    detail: 'Your subscription to {plan} has ended. Renew it to continue.',
  },
  'subscription-past-due': {
    status: 402,
    title: 'Payment past due',
    detail:
      'Your last payment for {plan} failed and the grace period has ended. Update your payment method to continue.',
  },
  'account-suspended': {
    status: 402,
    title: 'Account suspended',
    detail: 'Your account is suspended for non-payment. Settle the open balance to continue.',
  },
  'payment-pending': {
    status: 402,
    title: 'Payment pending',
    detail: 'Your payment is being processed. Try again shortly.',
  },
  'insufficient-credits': {
    status: 402,
    title: 'Insufficient credits',
    detail:
      'This request costs {required} {required|credit|credits} but your balance is {balance}. Top up to continue.',
  },
  'payment-invalid': {
    status: 402,
    title: 'Payment not accepted',
    detail:
      'The payment sent with this request was not accepted. Pay one of the offers in this response to continue.',
  },
  'payment-expired': {
    status: 402,
    title: 'Payment offer expired',
    detail:
      'The offer this payment answers has expired. Pay one of the fresh offers in this response.',
  },
  'payment-underpaid': {
    status: 402,
    title: 'Payment too low',
    detail: 'The payment is less than the offer asks for. Pay one of the offers in this response.',
  },
  'payment-replayed': {
    status: 402,
    title: 'Payment already used',
    detail: 'This payment has already been used. Send a new payment to continue.',
  },
  'payment-unavailable': {
    status: 503,
    title: 'Payments unavailable',
    detail:
      'Payments cannot be completed right now. Try again shortly with the same payment: it is used at most once.',
  },
  'payment-required': {
    status: 402,
    title: 'Payment required',
    detail:
      'This resource is paid per call and needs no account: pay one of the offers in this response and send the request again with the payment.',
  },
  'quota-exhausted': {
    status: 402,
    title: 'Quota exhausted',
    detail:
      'You have used {used} of the {limit} {limit|unit|units} of {feature} included in {plan}. Upgrade to continue.',
  },
  'feature-not-in-plan': {
    status: 402,
    title: 'Feature not in plan',
    detail: 'The feature {feature} is not part of {plan}. Upgrade to use it.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    detail: 'Slow down: the rate limit of your plan was reached.',
  },
  'concurrency-limited': {
    status: 429,
    title: 'Too many requests in flight',
    detail:
      'Wait for a request to finish: your plan allows {limit} {limit|request|requests} to {feature} in flight at once.',
  },
  'validation-failed': {
    status: 400,
    title: 'Validation failed',
    detail: 'The request is not valid; see errors for the failing fields.',
  },
  'not-found': { status: 404, title: 'Not found', detail: 'The resource does not exist.' },
  conflict: {
    status: 409,
    title: 'Conflict',
    detail: 'The request conflicts with the current state.',
  },
  'payload-too-large': {
    status: 413,
    title: 'Payload too large',
    detail: 'The request body is larger than allowed.',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    detail: 'The request body has a content type this endpoint does not accept.',
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    detail: 'This endpoint does not support the request method.',
  },
  'bad-request': {
    status: 400,
    title: 'Bad request',
    detail: 'The request is malformed and cannot be processed.',
  },
  'request-timeout': {
    status: 408,
    title: 'Request timeout',
    detail: 'The request was not received in time.',
  },
  'uri-too-long': {
    status: 414,
    title: 'URI too long',
    detail: 'The request URI is longer than allowed.',
  },
  'request-header-fields-too-large': {
    status: 431,
    title: 'Request header fields too large',
    detail: 'The request headers are larger than allowed.',
  },
  'expectation-failed': {
    status: 417,
    title: 'Expectation failed',
    detail: 'The server cannot meet the Expect field of the request: only 100-continue is known.',
  },
  'http-version-not-supported': {
    status: 505,
    title: 'HTTP version not supported',
    detail: 'Only HTTP/1.1 and HTTP/1.0 are supported: send the request in HTTP/1.1.',
  },
  'not-implemented': {
    status: 501,
    title: 'Not implemented',
    detail: 'The request method is not supported by this server.',
  },
  'entitlement-unavailable': {
    status: 503,
    title: 'Entitlement service unavailable',
    detail: 'Access could not be checked right now. Try again shortly.',
  },
  'service-unavailable': {
    status: 503,
    title: 'Service unavailable',
    detail: 'The service is not ready to take requests. Try again shortly.',
  },
  'upstream-unavailable': {
    status: 502,
    title: 'Upstream unavailable',
    detail: 'The upstream service could not be reached.',
  },
  'upstream-timeout': {
    status: 504,
    title: 'Upstream timeout',
    detail: 'The upstream service did not answer in time.',
  },
  'internal-error': {
    status: 500,
    title: 'Internal error',
    detail: 'Something went wrong on our side. Quote the request id when contacting support.',
  },
};

/**
 * Details for one particular case of a code, translated like the codes' own
 * (translations.ts): a problem names one as its `variant` instead of writing an English
 * `detail`, so the body stays in the asked language.
 */
export const PROBLEM_DETAIL_VARIANTS = {
  /** validation-failed of POST /events: the request's events are taken whole or not at all. */
  'events-refused':
    'No event of this request was accepted: one invalid event refuses the whole request. errors names each invalid event by its index and field; correct them and send the request again.',
  /** not-found of the gateway: no route of its table matches the request's path. */
  'no-route': 'No API is served at this path. Check the URL against the API documentation.',
  /**
   * bad-request of the gateway: a request target it does not route as sent (it never guesses
   * which path an ambiguous one means, since an upstream might read it otherwise).
   */
  'path-not-absolute': 'The path must start with "/".',
  'path-backslash': 'The path must not contain a backslash.',
  'path-malformed-escape': 'The path has a malformed percent-encoding.',
  'path-encoded-slash': 'The path must not contain an encoded slash or backslash.',
  'path-dot-parameters': 'The path has a dot segment with parameters.',
  'target-other-host': 'The request target names another host than the Host header.',
} as const satisfies Record<string, string>;

export type ProblemDetailVariant = keyof typeof PROBLEM_DETAIL_VARIANTS;

/** UPPER_SNAKE form of a code for the `code` member that clients switch on. */
export function upperSnake(code: ProblemCode): string {
  return code.toUpperCase().replace(/-/g, '_');
}
