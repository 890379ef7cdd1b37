import { FixedWindowLimiter, rateLimitHeaders } from './fixed-window-limiter';

describe('FixedWindowLimiter', () => {
  const policy = { requests: 3, windowSeconds: 60 };
  const t0 = Date.parse('2026-11-25T10:00:10Z');

  it('admits the limit per window, refuses the rest, and starts again with the next window', () => {
    const limiter = new FixedWindowLimiter();
    const states = [0, 1, 2, 3].map((i) => limiter.take('c1:f', policy, t0 + i * 1000));
    expect(states.map((s) => s.allowed)).toEqual([true, true, true, false]);
    expect(states.map((s) => s.remaining)).toEqual([2, 1, 0, 0]);
    expect(states[3].resetSeconds).toBe(47); // 10:00:13 → window ends 10:01:00
    expect(limiter.exhausted('c1:f', policy, t0 + 5000)).toMatchObject({ allowed: false });
    expect(limiter.exhausted('c2:f', policy, t0 + 5000)).toBeUndefined();
    expect(limiter.take('c1:f', policy, Date.parse('2026-11-25T10:01:00Z'))).toMatchObject({
      allowed: true,
      remaining: 2,
    });
  });

  it('forgets ended windows on sweep', () => {
    const limiter = new FixedWindowLimiter();
    limiter.take('a', policy, t0);
    limiter.sweep(t0 + 120_000, 60_000);
    expect(limiter.size).toBe(0);
  });

  it('formats the IETF structured fields', () => {
    const limiter = new FixedWindowLimiter();
    expect(rateLimitHeaders('requests', limiter.take('k', policy, t0))).toEqual({
      'ratelimit-policy': '"requests";q=3;w=60',
      ratelimit: '"requests";r=2;t=50',
    });
  });
});
