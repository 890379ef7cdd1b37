import type { HoldConcurrencyRequest, HoldConcurrencyResponse } from '@paygate/contracts';
import {
  type ConcurrencyRefusal,
  type ConcurrencySlot,
  SharedConcurrencyLimiter,
} from './shared-concurrency-limiter';

/**
 * HoldConcurrency as the entitlement service answers it (its SQL is proven against Postgres in
 * hold-concurrency.int-spec.ts): holds are set, never added, and never sum past the limit.
 * Answers arrive on a later tick, as a remote call's would.
 */
class HoldService {
  readonly holds = new Map<string, number>();
  calls: HoldConcurrencyRequest[] = [];
  down = false;

  readonly hold = async (request: HoldConcurrencyRequest): Promise<HoldConcurrencyResponse> => {
    this.calls.push(request);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.down) throw new Error('unavailable');
    let others = 0;
    for (const [holder, slots] of this.holds) if (holder !== request.holder) others += slots;
    const held = Math.max(0, Math.min(request.slots, request.limit - others));
    if (held === 0) this.holds.delete(request.holder);
    else this.holds.set(request.holder, held);
    return { held, inUse: others + held };
  };

  get total(): number {
    return [...this.holds.values()].reduce((a, b) => a + b, 0);
  }
}

const CUSTOMER = '00000000-0000-4000-8000-000000000001';

function replica(service: HoldService, holder: string, sparePercent = 10) {
  const unavailable: unknown[] = [];
  let nowMs = 1_000_000;
  const limiter = new SharedConcurrencyLimiter(service.hold, {
    holder,
    sparePercent,
    holdSeconds: 30,
    onUnavailable: (err) => unavailable.push(err),
    now: () => nowMs,
  });
  return { limiter, unavailable, advance: (ms: number) => (nowMs += ms) };
}

const admitted = (outcome: ConcurrencySlot | ConcurrencyRefusal): ConcurrencySlot => {
  if (!outcome.allowed) throw new Error('refused');
  return outcome;
};

describe('SharedConcurrencyLimiter', () => {
  it('admits up to the limit, refuses the next, and admits again once one finishes', async () => {
    const service = new HoldService();
    const { limiter } = replica(service, 'a');
    const slots = [];
    for (let i = 0; i < 5; i += 1) slots.push(admitted(await limiter.acquire(CUSTOMER, 'f', 5)));
    expect(await limiter.acquire(CUSTOMER, 'f', 5)).toEqual({ allowed: false, limit: 5 });
    expect(limiter.inFlight).toBe(5);

    slots[0].release();
    slots[0].release(); // a second release gives nothing back twice
    expect(limiter.inFlight).toBe(4);
    admitted(await limiter.acquire(CUSTOMER, 'f', 5));
    expect(await limiter.acquire(CUSTOMER, 'f', 5)).toEqual({ allowed: false, limit: 5 });
    // Each customer and feature on its own.
    admitted(await limiter.acquire(CUSTOMER, 'g', 5));
    admitted(await limiter.acquire('00000000-0000-4000-8000-000000000002', 'f', 5));
  });

  it('never has more than the limit in flight across three replicas, and refuses only within the bound', async () => {
    const service = new HoldService();
    const holders = ['a', 'b', 'c'];
    const replicas = holders.map((h) => replica(service, h).limiter);
    /** No replica has more in flight than the service counts it as holding. */
    const withinHolds = () =>
      replicas.forEach((r, i) =>
        expect(r.inFlight).toBeLessThanOrEqual(service.holds.get(holders[i]) ?? 0),
      );
    const limit = 20;
    const spare = 2; // 10 % of 20
    const open: ConcurrencySlot[] = [];
    let refusals = 0;
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let step = 0; step < 600; step += 1) {
      // Bursts of concurrent acquisitions on random replicas, and random releases.
      const burst = await Promise.all(
        Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
          replicas[Math.floor(random() * 3)].acquire(CUSTOMER, 'f', limit),
        ),
      );
      for (const outcome of burst) {
        if (outcome.allowed) open.push(outcome);
        else {
          refusals += 1;
          const inFlight = replicas.reduce((sum, r) => sum + r.inFlight, 0);
          // Refused only while the others kept at most 2 × spare unused slots each.
          expect(inFlight).toBeGreaterThanOrEqual(limit - 2 * 2 * spare);
        }
      }
      expect(replicas.reduce((sum, r) => sum + r.inFlight, 0)).toBeLessThanOrEqual(limit);
      expect(service.total).toBeLessThanOrEqual(limit);
      withinHolds();
      // Many finish at once now and then, so that replicas give slots back while others ask.
      const finishing = Math.floor(random() * (random() < 0.1 ? 20 : 6));
      for (let i = 0; i < finishing && open.length > 0; i += 1)
        open.splice(Math.floor(random() * open.length), 1)[0].release();
      withinHolds();
      if (random() < 0.5) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(refusals).toBeGreaterThan(0);
    expect(open.length).toBeGreaterThan(0);
  });

  it('admits no more than a give-back in flight leaves it, while the service hands the rest to others', async () => {
    const service = new HoldService();
    const a = replica(service, 'a').limiter;
    const b = replica(service, 'b').limiter;
    const slots = await Promise.all(Array.from({ length: 10 }, () => a.acquire(CUSTOMER, 'f', 10)));
    expect(service.holds.get('a')).toBe(10);
    // Nine finish: a gives back down to 1 in flight + 1 spare; before that is answered, more
    // requests arrive at a while b asks for the slots a is giving back.
    for (const slot of slots.slice(1)) admitted(slot).release();
    const atA = Array.from({ length: 9 }, () => a.acquire(CUSTOMER, 'f', 10));
    const atB = Array.from({ length: 10 }, () => b.acquire(CUSTOMER, 'f', 10));
    const outcomes = await Promise.all([...atA, ...atB]);
    expect(a.inFlight + b.inFlight).toBeLessThanOrEqual(10);
    expect(a.inFlight).toBeLessThanOrEqual(service.holds.get('a') ?? 0);
    expect(b.inFlight).toBeLessThanOrEqual(service.holds.get('b') ?? 0);
    expect(outcomes.filter((o) => o.allowed).length).toBe(a.inFlight + b.inFlight - 1);
  });

  it('makes few remote calls: most requests are admitted from the slots it holds', async () => {
    const service = new HoldService();
    const { limiter } = replica(service, 'a');
    for (let i = 0; i < 1000; i += 1) {
      const batch = await Promise.all(
        Array.from({ length: 5 }, () => limiter.acquire(CUSTOMER, 'f', 100)),
      );
      for (const slot of batch) admitted(slot).release();
    }
    // The first request's hold (itself + 10 spare) serves every later batch of 5.
    expect(service.calls).toHaveLength(1);
    expect(service.holds.get('a')).toBe(11);
  });

  it('joins one hold for requests arriving together', async () => {
    const service = new HoldService();
    const { limiter } = replica(service, 'a', 1);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => limiter.acquire(CUSTOMER, 'f', 100)),
    );
    expect(outcomes.every((o) => o.allowed)).toBe(true);
    expect(service.calls.length).toBeLessThanOrEqual(2);
  });

  it('gives back what is over twice the spare as requests finish', async () => {
    const service = new HoldService();
    const { limiter } = replica(service, 'a');
    const slots = await Promise.all(
      Array.from({ length: 40 }, () => limiter.acquire(CUSTOMER, 'f', 50)),
    );
    expect(service.holds.get('a')).toBeGreaterThanOrEqual(40);
    for (const slot of slots) admitted(slot).release();
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    // Spare is 5: what is kept after the last give-back is at most 2 × 5.
    expect(service.holds.get('a') ?? 0).toBeLessThanOrEqual(10);
  });

  it('counts alone up to the limit while the service cannot answer, and says so', async () => {
    const service = new HoldService();
    service.down = true;
    const { limiter, unavailable } = replica(service, 'a');
    for (let i = 0; i < 3; i += 1) admitted(await limiter.acquire(CUSTOMER, 'f', 3));
    expect(await limiter.acquire(CUSTOMER, 'f', 3)).toEqual({ allowed: false, limit: 3 });
    expect(unavailable.length).toBe(3);
  });

  it('refuses while more than a lowered limit is in flight', async () => {
    const service = new HoldService();
    const { limiter } = replica(service, 'a');
    const slots = [];
    for (let i = 0; i < 5; i += 1) slots.push(admitted(await limiter.acquire(CUSTOMER, 'f', 10)));
    // The plan now allows 3 at once.
    expect(await limiter.acquire(CUSTOMER, 'f', 3)).toEqual({ allowed: false, limit: 3 });
    slots.slice(0, 3).forEach((s) => s.release());
    admitted(await limiter.acquire(CUSTOMER, 'f', 3));
    expect(service.total).toBeLessThanOrEqual(10);
  });

  it('refreshes holds in use, gives back idle ones, then forgets them', async () => {
    const service = new HoldService();
    const { limiter, advance } = replica(service, 'a');
    const busy = admitted(await limiter.acquire(CUSTOMER, 'busy', 10));
    admitted(await limiter.acquire(CUSTOMER, 'idle', 10)).release();
    expect(limiter.size).toBe(2);

    advance(5_000);
    service.calls = [];
    await limiter.refresh(1_000);
    // The busy one is set again (its expiry renewed), the idle one given back.
    expect(service.calls.map((c) => [c.feature, c.slots]).sort()).toEqual([
      ['busy', 2],
      ['idle', 0],
    ]);
    await limiter.refresh(1_000);
    expect(limiter.size).toBe(1);
    busy.release();
    advance(5_000);
    await limiter.refresh(1_000);
    await limiter.refresh(1_000);
    expect(limiter.size).toBe(0);
    expect(service.total).toBe(0);
  });

  it('gives every slot back on shutdown', async () => {
    const service = new HoldService();
    const { limiter } = replica(service, 'a');
    admitted(await limiter.acquire(CUSTOMER, 'f', 10));
    admitted(await limiter.acquire(CUSTOMER, 'g', 10));
    expect(service.total).toBeGreaterThan(0);
    await limiter.releaseAll();
    expect(service.total).toBe(0);
  });
});
