import { PaymentBudget, type PaymentOptions, offersOf } from './payments';
import { PaymentRequiredError, problemFromResponse } from './problem-errors';
import { RetryOptions, mayRepeat, nextDelayMs } from './retry-policy';

export interface PaygateClientOptions {
  /** Prefix for relative paths, e.g. https://api.example.com */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  retry?: RetryOptions;
  /**
   * Called with every payment problem before it is thrown: the place to show the message and
   * a button to `error.link`. Errors it throws are ignored.
   */
  onPaymentRequired?: (error: PaymentRequiredError) => void | Promise<void>;
  /**
   * Pays 402s that carry offers (x402 / Payment scheme), within a budget, and sends the request
   * again once with the credential. Without it, a 402 is thrown.
   */
  payments?: PaymentOptions;
  /** Defaults to the global fetch (Node ≥ 18, browsers). */
  fetch?: typeof fetch;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
}

export interface PaygateClient {
  /**
   * fetch() that resolves only with a successful response (status < 400) and throws the typed
   * problem otherwise, after the retries the request allows.
   */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** fetch() and parse the JSON body. */
  json<T = unknown>(input: string | URL, init?: RequestInit): Promise<T>;
  /** What this client has paid so far, per `<network>/<asset>` (smallest unit, decimal). */
  paid(): Record<string, string>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A fetch wrapper that turns paygate's problems into typed errors and retries with care. */
export function createPaygateClient(options: PaygateClientOptions = {}): PaygateClient {
  const doFetch = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const sleep = options.sleep ?? defaultSleep;
  const retry: Required<RetryOptions> = {
    attempts: options.retry?.attempts ?? 3,
    baseDelayMs: options.retry?.baseDelayMs ?? 200,
    maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
  };
  const budget = options.payments ? new PaymentBudget(options.payments) : undefined;

  /**
   * The credential headers for a 402's offers, or undefined: no payments configured, no offer
   * within the budget, or the wallet declined. The budget is charged before the retry.
   */
  async function payFor(error: PaymentRequiredError): Promise<Record<string, string> | undefined> {
    if (!options.payments || !budget) return undefined;
    const offers = budget.affordable(offersOf(error));
    if (offers.length === 0) return undefined;
    const credential = await options.payments.wallet({
      offers,
      paymentRequired: error.response.headers.get('payment-required') ?? undefined,
      wwwAuthenticate: error.response.headers.get('www-authenticate') ?? undefined,
      problem: error,
    });
    if (!credential) return undefined;
    budget.charge(credential.offer, offers);
    return credential.headers;
  }

  async function send(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url =
      options.baseUrl && typeof input === 'string' && !/^[a-z][a-z0-9+.-]*:/i.test(input)
        ? `${options.baseUrl.replace(/\/$/, '')}/${input.replace(/^\//, '')}`
        : input;
    const headers = new Headers(init.headers);
    if (options.apiKey && !headers.has('authorization'))
      headers.set('authorization', `Bearer ${options.apiKey}`);
    if (!headers.has('accept')) headers.set('accept', 'application/json, application/problem+json');
    const method = (init.method ?? 'GET').toUpperCase();
    // A streamed body can be sent only once.
    const repeatable =
      mayRepeat(method, headers) &&
      (init.body === undefined || init.body === null || typeof init.body === 'string');
    // A 402 is paid at most once per call: the retry carries the credential.
    let paid = false;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await doFetch(url, { ...init, method, headers });
      } catch (err) {
        const wait = repeatable ? nextDelayMs(attempt, 'network-error', retry) : undefined;
        if (wait === undefined) throw err;
        await sleep(wait);
        continue;
      }
      if (response.status < 400) return response;
      const wait = repeatable
        ? nextDelayMs(
            attempt,
            { status: response.status, retryAfter: response.headers.get('retry-after') },
            retry,
          )
        : undefined;
      if (wait !== undefined) {
        await response.body?.cancel().catch(() => undefined);
        await sleep(wait);
        continue;
      }
      const error = await problemFromResponse(response);
      // The refused request was not served: sending it again with a payment is safe when its
      // body can be sent again.
      const resendable =
        init.body === undefined || init.body === null || typeof init.body === 'string';
      if (error instanceof PaymentRequiredError && !paid && resendable) {
        const credential = await payFor(error);
        if (credential) {
          paid = true;
          for (const [name, value] of Object.entries(credential)) {
            // The Payment scheme takes Authorization: the API key moves to X-API-Key.
            if (name.toLowerCase() === 'authorization' && options.apiKey)
              headers.set('x-api-key', options.apiKey);
            headers.set(name, value);
          }
          continue;
        }
      }
      if (error instanceof PaymentRequiredError && options.onPaymentRequired) {
        await Promise.resolve()
          .then(() => options.onPaymentRequired?.(error))
          .catch(() => undefined);
      }
      throw error;
    }
  }

  return {
    fetch: send,
    async json<T>(input: string | URL, init?: RequestInit): Promise<T> {
      const response = await send(input, init);
      return (await response.json()) as T;
    },
    paid: () => budget?.paid() ?? {},
  };
}
