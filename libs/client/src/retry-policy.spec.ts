import { retryAfterSeconds } from './problem-errors';
import { mayRepeat, nextDelayMs } from './retry-policy';

const options = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

describe('retry policy', () => {
  it('backs off exponentially with full jitter, capped', () => {
    const top = (attempt: number) => nextDelayMs(attempt, 'network-error', options, () => 0.999);
    expect([top(1), top(2), top(3)]).toEqual([99, 199, 399]);
    expect(nextDelayMs(3, 'network-error', { ...options, maxDelayMs: 250 }, () => 0.999)).toBe(249);
    expect(nextDelayMs(1, 'network-error', options, () => 0)).toBe(0);
    expect(top(4)).toBeUndefined();
  });

  it('asks again only after 429 and 503', () => {
    for (const status of [400, 401, 402, 403, 404, 409, 500, 502, 504])
      expect(nextDelayMs(1, { status, retryAfter: null }, options)).toBeUndefined();
    expect(nextDelayMs(1, { status: 503, retryAfter: '1' }, options)).toBe(1000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(retryAfterSeconds('7', now)).toBe(7);
    expect(retryAfterSeconds('Wed, 25 Nov 2026 10:00:30 GMT', now)).toBe(30);
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });

  it('repeats idempotent methods, and others only with an Idempotency-Key', () => {
    expect(mayRepeat('GET', new Headers())).toBe(true);
    expect(mayRepeat('put', new Headers())).toBe(true);
    expect(mayRepeat('POST', new Headers())).toBe(false);
    expect(mayRepeat('PATCH', new Headers({ 'Idempotency-Key': 'k' }))).toBe(true);
  });
});
