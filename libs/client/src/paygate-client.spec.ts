import { createPaygateClient } from './paygate-client';
import {
  ForbiddenError,
  InvalidRequestError,
  PaymentRequiredError,
  ProblemError,
  RateLimitedError,
  UnauthenticatedError,
} from './problem-errors';

const problem = (status: number, body: object, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

/** A fetch that answers from a script and records what it was asked. */
function scripted(...answers: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string | URL, init: RequestInit = {}) => {
    calls.push({ url: String(url), init });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { fetchFn, calls };
}

const noSleep = { sleep: async () => undefined };

describe('paygate client', () => {
  it('turns a 402 into a PaymentRequiredError with the numbers, the link and the request id', async () => {
    const { fetchFn } = scripted(
      problem(
        402,
        {
          type: 'https://paygate.dev/problems/insufficient-credits',
          title: 'Insufficient credits',
          status: 402,
          detail: 'This request costs 1 credit but your balance is 0. Top up to continue.',
          code: 'INSUFFICIENT_CREDITS',
          balance: 0,
          required: 1,
          plan: 'pro',
          link: 'https://billing.example/c/1',
          requestId: 'body-id',
        },
        { 'x-request-id': 'req-42' },
      ),
    );
    const seen: PaymentRequiredError[] = [];
    const client = createPaygateClient({
      fetch: fetchFn,
      onPaymentRequired: (e) => void seen.push(e),
      ...noSleep,
    });
    const error = await client.fetch('https://api.example/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentRequiredError);
    const e = error as PaymentRequiredError;
    expect(e).toBeInstanceOf(ProblemError);
    expect({
      status: e.status,
      code: e.code,
      link: e.link,
      balance: e.balance,
      required: e.required,
      plan: e.plan,
      requestId: e.requestId,
      message: e.message,
    }).toEqual({
      status: 402,
      code: 'INSUFFICIENT_CREDITS',
      link: 'https://billing.example/c/1',
      balance: 0,
      required: 1,
      plan: 'pro',
      requestId: 'req-42',
      message: 'This request costs 1 credit but your balance is 0. Top up to continue.',
    });
    expect(seen).toEqual([e]);
  });

  it('never retries 401, 402 or 403, whatever the method', async () => {
    for (const [status, type] of [
      [401, UnauthenticatedError],
      [402, PaymentRequiredError],
      [403, ForbiddenError],
    ] as const) {
      const { fetchFn, calls } = scripted(problem(status, { status }), problem(200, {}));
      const client = createPaygateClient({ fetch: fetchFn, ...noSleep });
      await expect(client.fetch('https://api.example/x')).rejects.toBeInstanceOf(type);
      expect(calls).toHaveLength(1);
    }
  });

  it('treats a payment code as a payment problem even under another status', async () => {
    const { fetchFn } = scripted(problem(403, { code: 'FEATURE_NOT_IN_PLAN', feature: 'export' }));
    const error = await createPaygateClient({ fetch: fetchFn })
      .fetch('https://api.example/x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentRequiredError);
    expect((error as PaymentRequiredError).feature).toBe('export');
  });

  it('waits as long as Retry-After says on 429, then succeeds', async () => {
    const waits: number[] = [];
    const { fetchFn, calls } = scripted(
      problem(429, { code: 'RATE_LIMITED' }, { 'retry-after': '2' }),
      new Response('{"ok":true}', { status: 200 }),
    );
    const client = createPaygateClient({
      fetch: fetchFn,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(await client.json('https://api.example/x')).toEqual({ ok: true });
    expect(waits).toEqual([2000]);
    expect(calls).toHaveLength(2);
  });

  it('gives up after the allowed attempts with a RateLimitedError that says when to come back', async () => {
    const answers = Array.from({ length: 3 }, () =>
      problem(429, { code: 'RATE_LIMITED' }, { 'retry-after': '1' }),
    );
    const { fetchFn, calls } = scripted(...answers);
    const client = createPaygateClient({ fetch: fetchFn, retry: { attempts: 3 }, ...noSleep });
    const error = await client.fetch('https://api.example/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBe(1);
    expect(calls).toHaveLength(3);
  });

  it('does not wait longer than maxDelayMs: a far Retry-After is handed back at once', async () => {
    const { fetchFn, calls } = scripted(problem(429, {}, { 'retry-after': '3600' }));
    const client = createPaygateClient({ fetch: fetchFn, retry: { maxDelayMs: 5000 }, ...noSleep });
    await expect(client.fetch('https://api.example/x')).rejects.toBeInstanceOf(RateLimitedError);
    expect(calls).toHaveLength(1);
  });

  it('retries a POST only when it carries an Idempotency-Key', async () => {
    const unavailable = () => problem(503, { code: 'ENTITLEMENT_UNAVAILABLE' });
    const plain = scripted(unavailable(), new Response('{}'));
    await expect(
      createPaygateClient({ fetch: plain.fetchFn, ...noSleep }).fetch('https://api.example/x', {
        method: 'POST',
        body: '{}',
      }),
    ).rejects.toBeInstanceOf(ProblemError);
    expect(plain.calls).toHaveLength(1);

    const keyed = scripted(unavailable(), new Response('{}'));
    const response = await createPaygateClient({ fetch: keyed.fetchFn, ...noSleep }).fetch(
      'https://api.example/x',
      { method: 'POST', body: '{}', headers: { 'idempotency-key': 'order-1' } },
    );
    expect(response.status).toBe(200);
    expect(keyed.calls).toHaveLength(2);
  });

  it('retries a failed connection of an idempotent request with backoff', async () => {
    const waits: number[] = [];
    const { fetchFn, calls } = scripted(new TypeError('fetch failed'), new Response('{}'));
    const client = createPaygateClient({
      fetch: fetchFn,
      retry: { baseDelayMs: 100 },
      sleep: async (ms) => void waits.push(ms),
    });
    expect((await client.fetch('https://api.example/x')).status).toBe(200);
    expect(calls).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(0);
    expect(waits[0]).toBeLessThan(100);
  });

  it('turns a 400 into an InvalidRequestError naming the fields, never retried', async () => {
    const errors = [
      { field: 'name', messages: ['name must be a string'] },
      { field: 'limit', messages: ['limit must be decimal digits', 7] },
      { messages: ['no field'] },
      'not an object',
    ];
    const { fetchFn, calls } = scripted(
      problem(400, { code: 'VALIDATION_FAILED', errors }, { 'x-request-id': 'req-400' }),
    );
    const error = (await createPaygateClient({ fetch: fetchFn, ...noSleep })
      .fetch('https://api.example/x', { method: 'PUT' })
      .catch((e: unknown) => e)) as InvalidRequestError;
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.errors).toEqual([
      { field: 'name', messages: ['name must be a string'] },
      { field: 'limit', messages: ['limit must be decimal digits'] },
    ]);
    expect(error.requestId).toBe('req-400');
    expect(calls).toHaveLength(1);
    // A 400 without errors (another server) has none, not a crash.
    const { fetchFn: bare } = scripted(problem(400, { title: 'Bad' }));
    const plain = (await createPaygateClient({ fetch: bare, ...noSleep })
      .fetch('https://api.example/x')
      .catch((e: unknown) => e)) as InvalidRequestError;
    expect(plain.errors).toEqual([]);
  });

  it('tolerates bodies that are not problems', async () => {
    const { fetchFn } = scripted(
      new Response('<html>Bad gateway</html>', {
        status: 502,
        headers: { 'content-type': 'text/html' },
      }),
    );
    const error = (await createPaygateClient({ fetch: fetchFn, ...noSleep })
      .fetch('https://api.example/x')
      .catch((e: unknown) => e)) as ProblemError;
    expect(error).toBeInstanceOf(ProblemError);
    expect(error.status).toBe(502);
    expect(error.problem).toEqual({});
    expect(error.bodyText).toContain('Bad gateway');
    expect(error.message).toBe('HTTP 502');
  });

  it('sends the API key and resolves relative paths against baseUrl', async () => {
    const { fetchFn, calls } = scripted(new Response('{}'));
    await createPaygateClient({
      fetch: fetchFn,
      baseUrl: 'https://api.example/v1/',
      apiKey: 'pg_live_x',
    }).fetch('/things');
    expect(calls[0].url).toBe('https://api.example/v1/things');
    expect(new Headers(calls[0].init.headers).get('authorization')).toBe('Bearer pg_live_x');
  });
});
