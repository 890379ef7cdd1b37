/** An RFC 9457 problem body as paygate (and most servers) send it; every member optional. */
export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  /** paygate's stable code, UPPER_SNAKE (e.g. INSUFFICIENT_CREDITS). */
  code?: string;
  requestId?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** paygate's codes that paying, topping up or upgrading fixes (402 by default). */
const PAYMENT_CODES = new Set([
  'SUBSCRIPTION_EXPIRED',
  'SUBSCRIPTION_PAST_DUE',
  'ACCOUNT_SUSPENDED',
  'PAYMENT_PENDING',
  'INSUFFICIENT_CREDITS',
  'QUOTA_EXHAUSTED',
  'FEATURE_NOT_IN_PLAN',
  'PAYMENT_INVALID',
  'PAYMENT_EXPIRED',
  'PAYMENT_UNDERPAID',
  'PAYMENT_REPLAYED',
]);

/**
 * Any error answer. `problem` is the RFC 9457 body when there was one (an empty object when
 * the server sent something else, e.g. an HTML page from a proxy: `bodyText` keeps it).
 * `requestId` is what to quote to support.
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly code?: string;
  readonly type?: string;
  readonly title?: string;
  readonly detail?: string;
  readonly requestId?: string;

  constructor(
    readonly problem: ProblemBody,
    readonly response: { status: number; headers: Headers },
    readonly bodyText = '',
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${response.status}`);
    this.name = new.target.name;
    this.status = response.status;
    this.code = typeof problem.code === 'string' ? problem.code : undefined;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId =
      response.headers.get('x-request-id') ??
      (typeof problem.requestId === 'string' ? problem.requestId : undefined);
  }
}

const numberOrUndefined = (value: unknown) => (typeof value === 'number' ? value : undefined);
const stringOrUndefined = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * 402: paying, topping up or upgrading fixes it. Never retried: show `detail` and offer
 * `link`. The numbers behind it are there when the server sent them.
 */
export class PaymentRequiredError extends ProblemError {
  get link(): string | undefined {
    return stringOrUndefined(this.problem.link);
  }
  get plan(): string | undefined {
    return stringOrUndefined(this.problem.plan);
  }
  get feature(): string | undefined {
    return stringOrUndefined(this.problem.feature);
  }
  get balance(): number | undefined {
    return numberOrUndefined(this.problem.balance);
  }
  get required(): number | undefined {
    return numberOrUndefined(this.problem.required);
  }
  get limit(): number | undefined {
    return numberOrUndefined(this.problem.limit);
  }
  get used(): number | undefined {
    return numberOrUndefined(this.problem.used);
  }
  get resetsAt(): string | undefined {
    return stringOrUndefined(this.problem.resetsAt);
  }
}

/** 429: slow down. `retryAfter` in seconds, from Retry-After (seconds or an HTTP date). */
export class RateLimitedError extends ProblemError {
  get retryAfter(): number | undefined {
    return retryAfterSeconds(this.response.headers.get('retry-after'));
  }
}

/** One field a 400 names: what to correct (a body member, a parameter, a header) and why. */
export interface FieldError {
  field: string;
  messages: string[];
}

/**
 * 400: the request is not valid as sent; never retried. paygate names every failing field in
 * `errors` (a server that sends none, or another shape, gives an empty list).
 */
export class InvalidRequestError extends ProblemError {
  get errors(): FieldError[] {
    const errors = this.problem.errors;
    if (!Array.isArray(errors)) return [];
    return errors.flatMap((e: unknown) => {
      const { field, messages } = (e ?? {}) as { field?: unknown; messages?: unknown };
      if (typeof field !== 'string' || !Array.isArray(messages)) return [];
      return [{ field, messages: messages.filter((m): m is string => typeof m === 'string') }];
    });
  }
}

/** 401: the API key is missing, unknown, revoked or expired. */
export class UnauthenticatedError extends ProblemError {}

/** 403: the key may not do this (scope), or the account is blocked; paying does not help. */
export class ForbiddenError extends ProblemError {}

/** Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), if it is one. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** The typed error for an error response (status ≥ 400), reading its body once. */
export async function problemFromResponse(response: Response): Promise<ProblemError> {
  const text = await response.text().catch(() => '');
  let problem: ProblemBody = {};
  const type = response.headers.get('content-type') ?? '';
  if (/json/i.test(type) || text.trimStart().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        problem = parsed as ProblemBody;
    } catch {
      // Not JSON after all: the error keeps the text.
    }
  }
  const meta = { status: response.status, headers: response.headers };
  // A deployment may answer a payment problem with another status (PROBLEM_STATUSES): the
  // code still says that paying fixes it.
  if (typeof problem.code === 'string' && PAYMENT_CODES.has(problem.code))
    return new PaymentRequiredError(problem, meta, text);
  switch (response.status) {
    case 400:
      return new InvalidRequestError(problem, meta, text);
    case 401:
      return new UnauthenticatedError(problem, meta, text);
    case 402:
      return new PaymentRequiredError(problem, meta, text);
    case 403:
      return new ForbiddenError(problem, meta, text);
    case 429:
      return new RateLimitedError(problem, meta, text);
    default:
      return new ProblemError(problem, meta, text);
  }
}
