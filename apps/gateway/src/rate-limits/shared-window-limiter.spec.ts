import type { TakeRateWindowRequest, TakeRateWindowResponse } from '@paygate/contracts';
import { SharedWindowLimiter } from './shared-window-limiter';

/** The entitlement service's window counts, shared by every limiter (replica) given `take`. */
class WindowService {
  readonly used = new Map<string, number>();
  calls = 0;
  inFlight = 0;
  mostInFlight = 0;
  down = false;

  readonly take = async (request: TakeRateWindowRequest): Promise<TakeRateWindowResponse> => {
    this.calls += 1;
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight -= 1;
    if (this.down) throw new Error('entitlement unavailable');
    const key = `${request.customerId}:${request.feature}:${request.windowStartMs}`;
    const used = this.used.get(key) ?? 0;
    const granted = Math.min(request.units, request.limit - used);
    this.used.set(key, used + granted);
    return { granted, used: used + granted };
  };
}

describe('SharedWindowLimiter', () => {
  const t0 = Date.parse('2026-12-03T10:00:10Z');
  const small = { requests: 3, windowSeconds: 60 };

  it('admits the limit per window and says what is left, then refuses without asking again', async () => {
    const service = new WindowService();
    const limiter = new SharedWindowLimiter(service.take, 10);
    const states = [];
    for (let i = 0; i < 4; i++) states.push(await limiter.take('c1', 'f', small, t0 + i * 1000));
    expect(states.map((s) => s.allowed)).toEqual([true, true, true, false]);
    expect(states.map((s) => s.remaining)).toEqual([2, 1, 0, 0]);
    expect(states[3].resetSeconds).toBe(47);
    const calls = service.calls;
    expect(limiter.exhausted('c1', 'f', small, t0 + 5000)).toMatchObject({ allowed: false });
    expect(limiter.exhausted('c2', 'f', small, t0 + 5000)).toBeUndefined();
    expect((await limiter.take('c1', 'f', small, t0 + 6000)).allowed).toBe(false);
    expect(service.calls).toBe(calls);
    // The next window is whole again.
    const next = await limiter.take('c1', 'f', small, Date.parse('2026-12-03T10:01:00Z'));
    expect(next).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('three replicas admit at most the limit together, and at most the documented bound fewer', async () => {
    const service = new WindowService();
    const replicas = [1, 2, 3].map(() => new SharedWindowLimiter(service.take, 10));
    const policy = { requests: 100, windowSeconds: 3600 };
    // 10 × the limit, spread over the replicas in an uneven, interleaved order.
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => replicas[(i * 7) % 3].take('c1', 'f', policy, t0 + i)),
    );
    const admitted = answers.filter((a) => a.allowed).length;
    expect(admitted).toBeLessThanOrEqual(100);
    // Largest slice: 10 % of 100; the two other replicas hold at most 9 unadmitted units each.
    expect(admitted).toBeGreaterThanOrEqual(100 - 2 * 9);
    expect(service.used.get(`c1:f:${t0 - (t0 % 3_600_000)}`)).toBe(100);
  });

  it('asks once at a time per window, slices doubling up to the largest', async () => {
    const service = new WindowService();
    const limiter = new SharedWindowLimiter(service.take, 10);
    const policy = { requests: 1000, windowSeconds: 60 };
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => limiter.take('c1', 'f', policy, t0)),
    );
    expect(answers.every((a) => a.allowed)).toBe(true);
    expect(service.mostInFlight).toBe(1);
    // 1 + 2 + 4 + … + 64, then slices of 100 (10 % of 1000): 300 units in 9 calls, not 300.
    expect(service.calls).toBe(9);
  });

  it('counts alone while the service cannot answer, and shares again once it does', async () => {
    const service = new WindowService();
    const unavailable: unknown[] = [];
    const limiter = new SharedWindowLimiter(service.take, 10, (err) => unavailable.push(err));
    service.down = true;
    const alone = [];
    for (let i = 0; i < 4; i++) alone.push(await limiter.take('c1', 'f', small, t0));
    expect(alone.map((s) => s.allowed)).toEqual([true, true, true, false]);
    expect(unavailable).toHaveLength(4);
    expect(limiter.exhausted('c1', 'f', small, t0)).toMatchObject({ allowed: false });

    service.down = false;
    const shared = await limiter.take('c2', 'f', small, t0);
    expect(shared).toMatchObject({ allowed: true, remaining: 2 });
    expect(unavailable).toHaveLength(4);
  });

  it('forgets ended windows on sweep', async () => {
    const limiter = new SharedWindowLimiter(new WindowService().take, 10);
    await limiter.take('c1', 'f', small, t0);
    expect(limiter.size).toBe(1);
    limiter.sweep(t0 + 120_000, 60_000);
    expect(limiter.size).toBe(0);
  });
});
