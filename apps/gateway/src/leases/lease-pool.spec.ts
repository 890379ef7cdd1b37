import type { CheckRequest, CheckResponse } from '@paygate/contracts';
import { randomUUID } from 'node:crypto';
import { LeaseCalls, LeasePool, LeasePoolOptions } from './lease-pool';

/**
 * A ledger with the entitlement service's lease rules (grant at least the cost or refuse, at
 * most what is available), answering after a tick like a remote call.
 */
class FakeLedger implements LeaseCalls {
  checks: CheckRequest[] = [];
  releases: { leaseId: string; units: number }[] = [];
  closes: { leaseId: string; units: number }[] = [];
  readonly leases = new Map<string, number>();

  /** The Postgres snapshot the next answers were read under (CheckResponse.readSnapshot). */
  snapshot = '';
  /** And the database run it is of. */
  databaseRun = 'run-1';

  constructor(public available: number) {}

  async check(request: CheckRequest): Promise<CheckResponse> {
    this.checks.push(request);
    await new Promise((r) => setImmediate(r));
    const base = {
      customerId: 'cust-1',
      plan: 'pro',
      warnings: [],
      rateLimit: null,
      readSnapshot: this.snapshot,
      readDatabaseRun: this.databaseRun,
    };
    if (this.available < request.cost) {
      return {
        ...base,
        allowed: false,
        leaseId: '',
        denial: {
          code: 'insufficient-credits',
          plan: 'pro',
          feature: request.feature,
          resetsAt: '',
          link: '',
        },
      };
    }
    const units = Math.min(Math.max(request.leaseUnits ?? 0, request.cost), this.available);
    this.available -= units;
    const leaseId = randomUUID();
    this.leases.set(leaseId, units);
    return { ...base, allowed: true, leaseId, leaseUnits: units, denial: null };
  }

  async release(leaseId: string, units: number): Promise<void> {
    this.releases.push({ leaseId, units });
    this.available += units;
  }

  async close(leaseId: string, units: number): Promise<void> {
    this.closes.push({ leaseId, units });
    this.available += units;
  }
}

const options: LeasePoolOptions = {
  maxUnits: 8,
  aheadMs: 1000,
  idleMs: 2000,
  maxAgeMs: 60_000,
  renewAtShare: 0.25,
};

/**
 * A ledger whose next check, once `gate.hold` is set, waits until `gate.answer` (set once it
 * waits) is called; `held()` is the grant that check then gave.
 */
function gatedLedger(hold = false) {
  const gate: { hold: boolean; answer?: () => void } = { hold };
  let heldGrant: CheckResponse | undefined;
  class HeldLedger extends FakeLedger {
    override async check(request: CheckRequest): Promise<CheckResponse> {
      if (!gate.hold) return super.check(request);
      gate.hold = false;
      await new Promise<void>((resolve) => (gate.answer = resolve));
      return (heldGrant = await super.check(request));
    }
  }
  return { ledger: new HeldLedger(100), gate, held: () => heldGrant };
}

/** A pool whose first check is held (see gatedLedger). */
function heldPool() {
  const { ledger, gate } = gatedLedger(true);
  return { ledger, gate, pool: new LeasePool(ledger, options) };
}

const request = (apiKey = 'pg_key', cost = 1) => ({
  apiKey,
  feature: 'requests',
  cost,
  requestId: randomUUID(),
  requiredScopes: [],
});

describe('LeasePool', () => {
  it('admits exactly the available units under concurrency, with far fewer remote calls', async () => {
    const ledger = new FakeLedger(20);
    const pool = new LeasePool(ledger, options);
    const answers = await Promise.all(Array.from({ length: 50 }, () => pool.admit(request())));
    expect(answers.filter((a) => a.allowed)).toHaveLength(20);
    expect(answers.filter((a) => !a.allowed)).toHaveLength(30);
    expect(answers.find((a) => !a.allowed)?.denial?.code).toBe('insufficient-credits');
    expect(ledger.available).toBe(0);
    expect(pool.heldUnits()).toBe(0);
    expect(ledger.checks.length).toBeLessThanOrEqual(6);
    // Leases never ask for more than the configured maximum.
    expect(Math.max(...ledger.checks.map((c) => c.leaseUnits ?? 0))).toBeLessThanOrEqual(8);
  });

  it('admits from a held lease at once (admitHeld), and takes nothing when it would have to wait', async () => {
    const ledger = new FakeLedger(10);
    const pool = new LeasePool(ledger, { ...options, maxUnits: 10 });
    // No book yet: nothing held, nothing taken, no remote call.
    expect(pool.admitHeld(request())).toBeUndefined();
    expect(ledger.checks).toHaveLength(0);
    // A burst of three waits for leases sized from its demand (2, then 4 units here).
    const burst = await Promise.all(Array.from({ length: 3 }, () => pool.admit(request())));
    expect(burst.every((a) => a.allowed)).toBe(true);
    await new Promise((r) => setImmediate(r));
    const held = pool.heldUnits();
    expect(held).toBeGreaterThan(0);
    const checks = ledger.checks.length;
    // What is held is admitted at once: an answer, not a promise, one unit each.
    for (let left = held - 1; left >= 0; left--) {
      const answer = pool.admitHeld(request());
      expect(answer).not.toBeInstanceOf(Promise);
      expect(answer).toMatchObject({ allowed: true, customerId: 'cust-1' });
      expect(pool.heldUnits()).toBe(left);
    }
    // Used up: undefined and nothing taken; admit asks the ledger for what is left.
    expect(pool.admitHeld(request())).toBeUndefined();
    expect(pool.heldUnits()).toBe(0);
    await new Promise((r) => setImmediate(r));
    const rest = await Promise.all(Array.from({ length: 10 }, () => pool.admit(request())));
    // Exactly the ledger's ten units, whichever way each was admitted.
    expect(rest.filter((a) => a.allowed)).toHaveLength(10 - 3 - held);
    expect(ledger.available).toBe(0);
    expect(ledger.checks.length).toBeGreaterThan(checks);
  });

  it('closes every lease exactly once, saying how much of it was not served', async () => {
    let now = 0;
    const ledger = new FakeLedger(50);
    const pool = new LeasePool(ledger, options, () => now);
    const answers = await Promise.all(Array.from({ length: 30 }, () => pool.admit(request())));
    expect(answers.every((a) => a.allowed)).toBe(true);
    now = 2000;
    await pool.sweep();
    await new Promise((r) => setImmediate(r));
    // Used-up leases were closed as they ran out (0 back), the last one by the idle sweep.
    const closed = ledger.closes.map((c) => c.leaseId).sort();
    expect(closed).toEqual([...ledger.leases.keys()].sort());
    const returned = ledger.closes.reduce((n, c) => n + c.units, 0);
    const granted = [...ledger.leases.values()].reduce((n, u) => n + u, 0);
    expect(granted - returned).toBe(30);
    expect(ledger.releases).toEqual([]);
  });

  it('asks for a key it knows nothing of what waits, so its lease closes with nothing to give back', async () => {
    let now = 0;
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options, () => now);
    // A quiet key: one request every 3 s, each after its book went idle and was swept.
    for (let i = 0; i < 3; i++) {
      expect((await pool.admit(request())).allowed).toBe(true);
      expect(pool.heldUnits()).toBe(0);
      now += 3000;
      await pool.sweep();
    }
    expect(ledger.checks.map((c) => c.leaseUnits)).toEqual([1, 1, 1]);
    // Each lease used up by its request and closed at once: nothing given back, ever.
    expect(ledger.closes.map((c) => c.units)).toEqual([0, 0, 0]);
    expect(ledger.available).toBe(97);
    // A key that asks again while its first request waits is seen: a lease with room.
    const burst = await Promise.all(Array.from({ length: 3 }, () => pool.admit(request('busy'))));
    expect(burst.every((a) => a.allowed)).toBe(true);
    expect(ledger.checks.slice(3).map((c) => c.leaseUnits)).toEqual([1, 2 + 3]);
    expect(pool.heldUnits()).toBeGreaterThan(0);
  });

  it('gives unused units back after the idle time, and only those', async () => {
    let now = 0;
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options, () => now);
    await Promise.all(Array.from({ length: 5 }, () => pool.admit(request())));
    const held = pool.heldUnits();
    expect(held).toBeGreaterThan(0);
    expect(ledger.available + held + 5).toBe(100);
    now = 1999;
    expect(await pool.sweep()).toBe(0);
    now = 2000;
    expect(await pool.sweep()).toBe(held);
    expect(pool.heldUnits()).toBe(0);
    expect(ledger.available).toBe(95);
  });

  it('puts the units of a request that was not served back into its lease', async () => {
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options);
    const first = await Promise.all(Array.from({ length: 3 }, () => pool.admit(request())));
    const held = pool.heldUnits();
    expect(held).toBeGreaterThan(0);
    // The last request took its unit from the lease the pool still holds units of.
    await pool.giveBack(first[2], 1, 'upstream failed');
    expect(pool.heldUnits()).toBe(held + 1);
    expect(ledger.releases).toEqual([]);
  });

  it('returns a request of a lease it no longer holds to the ledger', async () => {
    const ledger = new FakeLedger(1);
    const pool = new LeasePool(ledger, options);
    const answer = await pool.admit(request());
    expect(answer.allowed).toBe(true);
    await pool.giveBack(answer, 1, 'upstream failed');
    expect(ledger.releases).toEqual([{ leaseId: answer.leaseId, units: 1 }]);
    expect(ledger.available).toBe(1);
  });

  it('forgets a customer at once: unused units go back and the next request asks again', async () => {
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options);
    await Promise.all(Array.from({ length: 3 }, () => pool.admit(request())));
    const checks = ledger.checks.length;
    const held = pool.heldUnits();
    expect(await pool.forgetCustomer('cust-1', 'api-key-revoked')).toBe(held);
    await pool.admit(request());
    expect(ledger.checks.length).toBe(checks + 1);
  });

  it('keeps no lease of a new book asked for while its customer was forgotten (a key revoked)', async () => {
    let now = 0;
    const { ledger, gate, held } = gatedLedger();
    const pool = new LeasePool(ledger, options, () => now);
    // A busy key, then idle: its leases go back and its book is swept (its demand remembered).
    await Promise.all(Array.from({ length: 6 }, () => pool.admit(request())));
    now = 10_000;
    await pool.sweep();
    now = 20_000;
    await pool.sweep();
    expect(pool.heldUnits()).toBe(0);
    // It comes back: a new book, which no grant has named a customer for yet, asks for a lease
    // sized to its remembered demand. The answer is held; the key is revoked meanwhile.
    gate.hold = true;
    const first = pool.admit(request());
    while (!gate.answer) await new Promise((r) => setImmediate(r));
    expect(await pool.forgetCustomer('cust-1', 'api-key-revoked')).toBe(0);
    gate.answer();
    await first;
    // The lease decided before the revocation is closed with every unit unused, and nothing is
    // admitted from it: the waiting request asked again (decided after the revocation; this
    // fake ledger still grants), and so does what comes next.
    const before = held()!;
    expect(before.leaseUnits).toBeGreaterThan(1);
    expect(ledger.closes).toContainEqual({ leaseId: before.leaseId, units: before.leaseUnits });
    expect((await first).leaseId).not.toBe(before.leaseId);
    expect(pool.admitHeld(request())?.leaseId).not.toBe(before.leaseId);
  });

  describe('a change whose event arrives while (or after) a lease made with it is asked for', () => {
    // A change of transaction `id` in database run 1 (`run-2:id` in run 2); undefined: unknown.
    const change = (id: string | undefined) =>
      id === undefined
        ? undefined
        : id.startsWith('run-2:')
          ? { id: id.slice(6), databaseRun: 'run-2' }
          : { id, databaseRun: 'run-1' };
    const firstAskWith = async (changes: (string | undefined)[], snapshot: string) => {
      const { ledger, gate, pool } = heldPool();
      ledger.snapshot = snapshot;
      const first = pool.admit(request());
      while (!gate.answer) await new Promise((r) => setImmediate(r));
      for (const id of changes)
        await pool.forgetCustomer('cust-1', 'subscription-created', change(id));
      gate.answer();
      expect((await first).allowed).toBe(true);
      return ledger.checks.length;
    };

    it('keeps a new book’s first lease whose snapshot shows every such change committed', async () => {
      // A new customer's first request: its setup's events are still on their way.
      expect(await firstAskWith(['700', '705'], '706:710:708')).toBe(1);
      expect(await firstAskWith(['700', '709'], '706:710:708')).toBe(1);
    });

    it('asks again when one change may be after the snapshot, or is of unknown transaction', async () => {
      // In progress at the snapshot (listed), at or past its xmax, unknown, or no snapshot.
      expect(await firstAskWith(['700', '708'], '706:710:708')).toBe(2);
      expect(await firstAskWith(['710'], '706:710:708')).toBe(2);
      expect(await firstAskWith(['700', undefined], '706:710:708')).toBe(2);
      expect(await firstAskWith(['700'], '')).toBe(2);
      // Of another database run (a failover, a restore): its ids do not compare with these.
      expect(await firstAskWith(['700', 'run-2:700'], '706:710:708')).toBe(2);
    });

    it('asks again past 16 changes noted for one customer (the notes are bounded)', async () => {
      const many = Array.from({ length: 17 }, (_, i) => String(100 + i));
      expect(await firstAskWith(many.slice(0, 16), '706:710:')).toBe(1);
      expect(await firstAskWith(many, '706:710:')).toBe(2);
    });

    it('forgets notes no ask in flight needs, so a busy gateway does not drop every first lease', async () => {
      // Each check is held until released, while `hold` is set.
      const held: (() => void)[] = [];
      let hold = true;
      class QueueLedger extends FakeLedger {
        override async check(request: CheckRequest): Promise<CheckResponse> {
          if (hold) await new Promise<void>((resolve) => held.push(resolve));
          return super.check(request);
        }
      }
      const ledger = new QueueLedger(100);
      ledger.snapshot = '800:810:';
      const pool = new LeasePool(ledger, options);
      const untilHeld = async (n: number) => {
        while (held.length < n) await new Promise((r) => setImmediate(r));
      };
      const a = pool.admit(request('pg_key_a'));
      await untilHeld(1);
      // More changes of the customer than are noted while A is asked for: A's answer is dropped.
      for (let i = 0; i < 17; i++)
        await pool.forgetCustomer('cust-1', 'subscription-changed', change(String(700 + i)));
      const b = pool.admit(request('pg_key_b'));
      await untilHeld(2);
      hold = false;
      held[0]();
      expect((await a).allowed).toBe(true);
      // Checks are counted as answered: A's, dropped, and A's again.
      expect(ledger.checks.map((c) => c.apiKey)).toEqual(['pg_key_a', 'pg_key_a']);
      // B began after those changes: they concern it no more than A's end does. A change B's
      // answer was made with comes while it is asked for: B's lease is kept.
      await pool.forgetCustomer('cust-1', 'customer-changed', change('790'));
      held[1]();
      expect((await b).allowed).toBe(true);
      expect(ledger.checks.map((c) => c.apiKey)).toEqual(['pg_key_a', 'pg_key_a', 'pg_key_b']);
    });

    it('keeps notes of at most 1,024 customers while first asks are always in flight', async () => {
      const held: (() => void)[] = [];
      class QueueLedger extends FakeLedger {
        override async check(request: CheckRequest): Promise<CheckResponse> {
          await new Promise<void>((resolve) => held.push(resolve));
          return super.check(request);
        }
      }
      const pool = new LeasePool(new QueueLedger(1_000_000), options);
      const notes = () => pool['firstAsks'].size;
      // Keys asked for one after another, each first ask in flight while the next begins, and
      // 300 customers' changes between two: the notes of those before the oldest ask go.
      let previous = pool.admit(request('pg_key_0'));
      let most = 0;
      for (let k = 1; k <= 20; k++) {
        while (held.length < k) await new Promise((r) => setImmediate(r));
        for (let c = 0; c < 300; c++) {
          await pool.forgetCustomer(`cust-${k}-${c}`, 'customer-changed');
          most = Math.max(most, notes());
        }
        const next = pool.admit(request(`pg_key_${k}`));
        while (held.length < k + 1) await new Promise((r) => setImmediate(r));
        held[k - 1]();
        await previous;
        previous = next;
      }
      // 6,000 customers changed in all.
      expect(most).toBe(1024);
      held[20]();
      await previous;
      expect(notes()).toBe(0);
    });

    // A book its customer is known for (an earlier grant named it), whose refill is in flight
    // when the customer's change comes: the change drops the book's leases; the refill's lease
    // is kept only if made with the change.
    const refillWith = async (changeId: string | undefined, snapshot: string) => {
      const { ledger, gate, held } = gatedLedger();
      const pool = new LeasePool(ledger, options);
      await Promise.all(Array.from({ length: 3 }, () => pool.admit(request())));
      await pool.forgetCustomer('cust-1', 'customer-changed');
      const book = [...pool['books'].values()][0];
      while (book.refill) await new Promise((r) => setImmediate(r));
      expect(book.customerId).toBe('cust-1');
      const checks = ledger.checks.length;
      ledger.snapshot = snapshot;
      gate.hold = true;
      const next = pool.admit(request());
      while (!gate.answer) await new Promise((r) => setImmediate(r));
      await pool.forgetCustomer('cust-1', 'subscription-changed', change(changeId));
      gate.answer();
      expect((await next).allowed).toBe(true);
      const closed = ledger.closes.some((c) => c.leaseId === held()!.leaseId);
      return { asked: ledger.checks.length - checks, closed };
    };

    it('keeps a refill’s lease made with a change that came while it was asked for', async () => {
      expect(await refillWith('705', '706:710:708')).toEqual({ asked: 1, closed: false });
    });

    it('drops a refill’s lease decided before such a change, or with it unknown, and asks again', async () => {
      expect(await refillWith('708', '706:710:708')).toEqual({ asked: 2, closed: true });
      expect(await refillWith('run-2:705', '706:710:708')).toEqual({ asked: 2, closed: true });
      expect(await refillWith(undefined, '706:710:708')).toEqual({ asked: 2, closed: true });
    });

    it('keeps a held lease made with the change, closes one made before it', async () => {
      const ledger = new FakeLedger(100);
      const pool = new LeasePool(ledger, options);
      ledger.snapshot = '706:710:708';
      const made = await pool.admit(request());
      expect(made.leaseUnits).toBe(1);
      await Promise.all(Array.from({ length: 4 }, () => pool.admit(request())));
      const held = pool.heldUnits();
      expect(held).toBeGreaterThan(0);
      // The change's event comes late: the leases were read after it committed.
      expect(await pool.forgetCustomer('cust-1', 'subscription-changed', change('705'))).toBe(0);
      expect(pool.heldUnits()).toBe(held);
      // A change they were not made with (in progress at their snapshot, or of another run of
      // the database, whatever its id) drops them.
      const other = change('run-2:705');
      expect(await pool.forgetCustomer('cust-1', 'subscription-changed', other)).toBe(held);
      expect(pool.heldUnits()).toBe(0);
      await Promise.all(Array.from({ length: 4 }, () => pool.admit(request())));
      const again = pool.heldUnits();
      expect(again).toBeGreaterThan(0);
      expect(await pool.forgetCustomer('cust-1', 'subscription-changed', change('708'))).toBe(
        again,
      );
      expect(pool.heldUnits()).toBe(0);
    });
  });

  it('keeps a new book’s first lease when another customer is forgotten meanwhile', async () => {
    const { ledger, gate, pool } = heldPool();
    const first = pool.admit(request());
    while (!gate.answer) await new Promise((r) => setImmediate(r));
    // Changes of other customers (every new customer, grant and key makes one) go by.
    expect(await pool.forgetCustomer('cust-other', 'credits-granted')).toBe(0);
    gate.answer();
    expect((await first).allowed).toBe(true);
    // Served from that first lease (used up, so closed with nothing to give back), not asked
    // for again.
    expect(ledger.checks).toHaveLength(1);
    expect(ledger.closes.map((c) => c.units)).not.toContain(1);
  });

  it('forgets only the customer named, also after its book was swept and made again', async () => {
    // Each key its own customer.
    class PerKeyLedger extends FakeLedger {
      override async check(request: CheckRequest): Promise<CheckResponse> {
        return { ...(await super.check(request)), customerId: `cust-${request.apiKey}` };
      }
    }
    let now = 0;
    const ledger = new PerKeyLedger(1000);
    const pool = new LeasePool(ledger, options, () => now);
    // Two requests a key: the second finds the key seen and gets a lease with units left.
    for (const key of ['a', 'b', 'c']) {
      const answers = await Promise.all([pool.admit(request(key)), pool.admit(request(key))]);
      expect(answers.every((a) => a.allowed)).toBe(true);
    }
    const held = pool.heldUnits();
    const heldByB = held / 3;
    expect(heldByB).toBeGreaterThan(0);
    expect(await pool.forgetCustomer('cust-b', 'api-key-revoked')).toBe(heldByB);
    expect(pool.heldUnits()).toBe(held - heldByB);
    expect(await pool.forgetCustomer('cust-nobody', 'api-key-revoked')).toBe(0);
    // Idle: every lease goes back and the books are swept; b comes back with a new book.
    now = 10_000;
    await pool.sweep();
    now = 20_000;
    await pool.sweep();
    expect(pool.heldUnits()).toBe(0);
    expect((await pool.admit(request('b'))).allowed).toBe(true);
    expect(await pool.forgetCustomer('cust-b', 'api-key-revoked')).toBeGreaterThan(0);
    expect(pool.heldUnits()).toBe(0);
  });

  it('sweeps a lease at the first sweep after it went idle, however late its use pushed that', async () => {
    let now = 0;
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options, () => now);
    // Demand of 6: a lease with units left after these.
    await Promise.all(Array.from({ length: 6 }, () => pool.admit(request())));
    // Used again at 1,900: idle from 3,900 on (idleMs 2,000), not from 2,000.
    now = 1900;
    await pool.admit(request());
    // The renewal that admission started lands (granted at 1,900 too).
    await new Promise((r) => setImmediate(r));
    const held = pool.heldUnits();
    expect(held).toBeGreaterThan(0);
    now = 2000;
    await pool.sweep();
    expect(pool.heldUnits()).toBe(held);
    now = 3899;
    await pool.sweep();
    expect(pool.heldUnits()).toBe(held);
    now = 3900;
    await pool.sweep();
    expect(pool.heldUnits()).toBe(0);
    expect(ledger.closes.reduce((n, c) => n + c.units, 0)).toBe(held);
    // The empty book goes too, once idle: the next request asks again.
    now = 6000;
    await pool.sweep();
    const checks = ledger.checks.length;
    await pool.admit(request());
    expect(ledger.checks.length).toBe(checks + 1);
  });

  it('keeps its count of held units equal to what its leases hold, through every path', async () => {
    let now = 0;
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options, () => now);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => pool.admit(request(`k${i % 4}`))),
    );
    expect(answers.every((a) => a.allowed)).toBe(true);
    const granted = () => [...ledger.leases.values()].reduce((n, u) => n + u, 0);
    const closedBack = () => ledger.closes.reduce((n, c) => n + c.units, 0);
    // Held = granted − admitted − given back on close; 40 admitted, 2 given back below.
    await pool.giveBack(answers[3], 1, 'upstream failed');
    await pool.giveBack(answers[7], 1, 'upstream failed');
    const released = () => ledger.releases.reduce((n, r) => n + r.units, 0);
    expect(pool.heldUnits()).toBe(granted() - 40 + 2 - released() - closedBack());
    await pool.forgetCustomer('cust-1', 'credits-granted');
    expect(pool.heldUnits()).toBe(0);
    now = 10_000;
    await pool.sweep();
    expect(pool.heldUnits()).toBe(0);
    // Every unit not served went back: 38 served (40 admitted, 2 not served).
    expect(ledger.available).toBe(100 - 38);
  });

  it('gives units back to a lease only while it holds it, however many it holds', async () => {
    const ledger = new FakeLedger(10_000);
    const pool = new LeasePool(ledger, options);
    // Two requests a key: the second's lease has units left.
    const answers = await Promise.all(
      Array.from({ length: 400 }, (_, i) => pool.admit(request(`key-${i % 200}`))),
    );
    const held = pool.heldUnits();
    await pool.giveBack(answers[350], 1, 'upstream failed');
    expect(pool.heldUnits()).toBe(held + 1);
    expect(ledger.releases).toEqual([]);
    await pool.releaseAll('shutdown');
    // Closed: the unit goes to the ledger instead.
    await pool.giveBack(answers[350], 1, 'upstream failed');
    expect(ledger.releases).toEqual([{ leaseId: answers[350].leaseId, units: 1 }]);
  });

  it('does not keep a grant that was in flight when the customer was forgotten', async () => {
    let now = 0;
    const ledger = new FakeLedger(100);
    const pool = new LeasePool(ledger, options, () => now);
    expect((await pool.admit(request())).allowed).toBe(true);
    // Three more: one takes the unit left, the others wait for a new lease...
    const admitted = Promise.all(Array.from({ length: 3 }, () => pool.admit(request())));
    // ...and the customer's key is revoked while that lease request is on its way.
    await pool.forgetCustomer('cust-1', 'api-key-revoked');
    const answers = await admitted;
    expect(answers.every((a) => a.allowed)).toBe(true);
    const [stale] = ledger.checks.slice(1, 2);
    expect(stale.leaseUnits).toBeGreaterThan(1);
    // The waiting requests asked again instead of using it, and it went back whole at once.
    expect(ledger.checks).toHaveLength(3);
    expect(ledger.closes.filter((c) => c.units > 0).map((r) => r.units)).toEqual([
      stale.leaseUnits,
    ]);
    now = 1;
    await pool.sweep();
    expect(ledger.available + pool.heldUnits() + 4).toBe(100);
  });

  it('gives a grant in flight back before asking again, so a balance of one unit admits', async () => {
    // A paid request: its credit landed, and the change it caused drops the customer's
    // leases while its own lease request is on the way. Kept until a sweep, that grant would
    // hold the only unit and the request's next ask would be refused.
    const ledger = new FakeLedger(1);
    const pool = new LeasePool(ledger, options);
    expect((await pool.admit(request())).allowed).toBe(true);
    expect((await pool.admit(request())).allowed).toBe(false);
    ledger.available += 1; // the payment's credit
    const admitted = pool.admit(request());
    await pool.forgetCustomer('cust-1', 'credits-granted');
    const answer = await admitted;
    expect(answer.allowed).toBe(true);
    // The stale grant went back whole, and the request was admitted from the next one.
    expect(ledger.closes.filter((c) => c.units > 0)).toHaveLength(1);
    expect(ledger.available).toBe(0);
  });

  /** A ledger whose releases and closes land only once `land()` is called. */
  class SlowReturnsLedger extends FakeLedger {
    private gate = Promise.resolve();
    land = () => {};
    holdReturns(): void {
      this.gate = new Promise((resolve) => (this.land = resolve));
    }
    override async release(leaseId: string, units: number): Promise<void> {
      await this.gate;
      return super.release(leaseId, units);
    }
    override async close(leaseId: string, units: number): Promise<void> {
      await this.gate;
      return super.close(leaseId, units);
    }
  }
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('asks again only once a unit given back to the ledger is there, so the next request is admitted', async () => {
    // The customer's only credit went to a request that was then refused (a replayed payment):
    // its lease was used up and closed, so the unit goes back to the ledger. Asked before that
    // landed, the service would refuse the customer's next request for want of credits.
    const ledger = new SlowReturnsLedger(1);
    const pool = new LeasePool(ledger, options);
    const refused = await pool.admit(request());
    expect(refused.allowed).toBe(true);
    ledger.holdReturns();
    const givenBack = pool.giveBack(refused, 1, 'payment refused');
    const next = pool.admit(request());
    await tick();
    expect(ledger.checks).toHaveLength(1);
    ledger.land();
    expect((await next).allowed).toBe(true);
    await givenBack;
    expect(ledger.checks).toHaveLength(2);
  });

  it('asks again only once the unused units of leases being closed are back (forgotten or idle)', async () => {
    let now = 0;
    const ledger = new SlowReturnsLedger(6);
    const pool = new LeasePool(ledger, options, () => now);
    // Two at once: the first alone (a lease of its 2 units), the second from one of the 4 left.
    const first = await Promise.all([
      pool.admit(request('pg_key', 2)),
      pool.admit(request('pg_key', 2)),
    ]);
    expect(first.every((a) => a.allowed)).toBe(true);
    expect(ledger.available).toBe(0);
    expect(ledger.checks).toHaveLength(2);
    ledger.holdReturns();
    // A change drops the lease (two units left in it) while the next request comes.
    const forgotten = pool.forgetCustomer('cust-1', 'subscription-changed');
    const afterForget = pool.admit(request('pg_key', 2));
    await tick();
    expect(ledger.checks).toHaveLength(2);
    ledger.land();
    expect((await afterForget).allowed).toBe(true);
    expect(await forgotten).toBe(2);

    // Idle: the lease goes back and the book is swept with it; a new book for the key (which
    // knows no customer yet) still waits for that close.
    ledger.available += 4;
    expect((await pool.admit(request('pg_key', 2))).allowed).toBe(true);
    expect(ledger.available).toBe(0);
    ledger.holdReturns();
    now = 10_000;
    const swept = pool.sweep();
    const afterIdle = pool.admit(request('pg_key', 2));
    await tick();
    expect(ledger.checks).toHaveLength(4);
    ledger.land();
    expect((await afterIdle).allowed).toBe(true);
    expect(await swept).toBe(2);
  });

  it('does not hold a refill back for returns of other customers', async () => {
    class PerKeyLedger extends SlowReturnsLedger {
      override async check(request: CheckRequest): Promise<CheckResponse> {
        return { ...(await super.check(request)), customerId: `cust-${request.apiKey}` };
      }
    }
    const ledger = new PerKeyLedger(10);
    const pool = new LeasePool(ledger, options);
    const a = await pool.admit(request('a'));
    ledger.holdReturns();
    const givenBack = pool.giveBack({ ...a, leaseId: 'gone' }, 1, 'upstream failed');
    expect((await pool.admit(request('b'))).allowed).toBe(true);
    ledger.land();
    await givenBack;
  });

  it('keeps an answer that reserves nothing (boolean feature) until the customer is forgotten', async () => {
    const checks: CheckRequest[] = [];
    const calls: LeaseCalls = {
      check: async (r) => {
        checks.push(r);
        return {
          allowed: true,
          customerId: 'cust-1',
          plan: 'pro',
          leaseId: '',
          warnings: [],
          denial: null,
        };
      },
      release: async () => undefined,
      close: async () => undefined,
    };
    const pool = new LeasePool(calls, options);
    const answers = await Promise.all(Array.from({ length: 10 }, () => pool.admit(request())));
    expect(answers.every((a) => a.allowed)).toBe(true);
    expect(checks).toHaveLength(1);
    expect(pool.heldUnits()).toBe(0);
    // A request of cost 0 has its own book: it never rides on a paid answer, nor the reverse.
    await pool.admit(request('pg_key', 0));
    expect(checks).toHaveLength(2);
    await pool.forgetCustomer('cust-1', 'subscription-changed');
    await pool.admit(request());
    expect(checks).toHaveLength(3);
  });

  it('fails open only for keys admitted lately, within a unit budget, reset by the next grant', async () => {
    let now = 0;
    const ledger = new FakeLedger(1);
    let down = false;
    const calls: LeaseCalls = {
      check: (r) => (down ? Promise.reject(new Error('unavailable')) : ledger.check(r)),
      release: (id, units) => ledger.release(id, units),
      close: (id, units) => ledger.close(id, units),
    };
    const pool = new LeasePool(calls, options, () => now);
    const limits = { maxUnits: 2, maxAgeMs: 1000 };
    expect(pool.admitFailingOpen(request(), limits)).toBeUndefined(); // never seen
    expect((await pool.admit(request())).allowed).toBe(true);
    down = true;
    await expect(pool.admit(request())).rejects.toThrow('unavailable');
    const open = pool.admitFailingOpen(request(), limits);
    expect(open).toMatchObject({ allowed: true, customerId: 'cust-1', leaseId: '' });
    expect(pool.admitFailingOpen(request(), limits)?.allowed).toBe(true);
    expect(pool.admitFailingOpen(request(), limits)).toBeUndefined(); // budget of 2 spent
    expect(pool.admitFailingOpen(request('pg_other'), limits)).toBeUndefined();
    down = false;
    ledger.available = 5;
    expect((await pool.admit(request())).allowed).toBe(true);
    now = 500;
    expect(pool.admitFailingOpen(request(), limits)?.allowed).toBe(true); // budget reset
    now = 2000;
    expect(pool.admitFailingOpen(request(), limits)).toBeUndefined(); // too long ago
    await pool.forgetCustomer('cust-1', 'api-key-revoked');
    now = 0;
    expect(pool.admitFailingOpen(request(), limits)).toBeUndefined(); // dropped with the key
  });

  it('keeps keys apart and refuses each on its own', async () => {
    const ledger = new FakeLedger(2);
    const pool = new LeasePool(ledger, { ...options, maxUnits: 1 });
    const a = await pool.admit(request('pg_a'));
    const b = await pool.admit(request('pg_b'));
    const c = await pool.admit(request('pg_c'));
    expect([a.allowed, b.allowed, c.allowed]).toEqual([true, true, false]);
  });

  it('refuses a request that costs more than is left while cheaper ones still pass', async () => {
    const ledger = new FakeLedger(3);
    const pool = new LeasePool(ledger, { ...options, maxUnits: 1 });
    expect((await pool.admit(request('pg_key', 5))).allowed).toBe(false);
    expect((await pool.admit(request('pg_key', 2))).allowed).toBe(true);
    expect((await pool.admit(request('pg_key', 1))).allowed).toBe(true);
    expect((await pool.admit(request('pg_key', 1))).allowed).toBe(false);
  });

  /**
   * One request per ms for 3,000 ms against a service whose Check takes 40 ms; how many
   * requests of the second half waited for a lease, the units held at the end, and in the
   * second half the lease requests made and the most units held at once.
   */
  async function steadyTraffic(overrides: Partial<LeasePoolOptions>) {
    let now = 0;
    const due: { at: number; run: () => void }[] = [];
    const ledger = new FakeLedger(1_000_000);
    const slow: LeaseCalls = {
      check: (req) =>
        new Promise((resolve, reject) =>
          due.push({ at: now + 40, run: () => void ledger.check(req).then(resolve, reject) }),
        ),
      release: (leaseId, units) => ledger.release(leaseId, units),
      close: (leaseId, units) => ledger.close(leaseId, units),
    };
    let waits = 0;
    const pool = new LeasePool(
      slow,
      { ...options, ...overrides, onWait: () => waits++ },
      () => now,
    );
    const flush = async () => {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    };
    const tick = async () => {
      now += 1;
      for (const call of due.filter((c) => c.at <= now)) {
        due.splice(due.indexOf(call), 1);
        call.run();
      }
      // As LeasesService sweeps.
      if (now % 250 === 0) void pool.sweep();
      await flush();
    };
    let waitsAfterWarmUp = 0;
    let checksAfterWarmUp = 0;
    let mostHeld = 0;
    for (let i = 0; i < 3000; i++) {
      if (i === 1500) {
        waitsAfterWarmUp = waits;
        checksAfterWarmUp = ledger.checks.length;
      }
      if (i >= 1500) mostHeld = Math.max(mostHeld, pool.heldUnits());
      let done = false;
      const answer = pool.admit(request()).then((a) => {
        done = true;
        return a;
      });
      await flush();
      while (!done) await tick();
      expect((await answer).allowed).toBe(true);
      await tick();
    }
    return {
      waits: waits - waitsAfterWarmUp,
      held: pool.heldUnits(),
      checks: ledger.checks.length - checksAfterWarmUp,
      mostHeld,
    };
  }

  it('renews early enough that steady traffic never waits when a refill outlasts the last quarter', async () => {
    // A lease of 100 units at one request per ms lasts 100 ms; its last quarter, 25 ms, is
    // shorter than a refill's 40 ms round trip.
    const { waits, held } = await steadyTraffic({ maxUnits: 100 });
    expect(waits).toBe(0);
    // Never more than two leases' worth held: the one in use and the next.
    expect(held).toBeLessThanOrEqual(200);
  });

  it('renews before a lease ages out with units left, so steady traffic never waits then either', async () => {
    // A lease of 1,000 units would last a second, but it may be used for 300 ms only.
    const { waits, held } = await steadyTraffic({ maxUnits: 1000, maxAgeMs: 300 });
    expect(waits).toBe(0);
    // The lease in use, the next, and an old one until the next sweep closes it.
    expect(held).toBeLessThanOrEqual(3000);
  });

  it('sizes a lease to about aheadMs of the key demand under a larger cap, and holds two at most', async () => {
    // 1,000 requests a second and a cap of 10,000 (the gateway's default): leases of about
    // 1,000, so about one lease request a second, not one per cap or per request.
    const { waits, checks, mostHeld } = await steadyTraffic({ maxUnits: 10_000, aheadMs: 1000 });
    expect(waits).toBe(0);
    expect(checks).toBeGreaterThanOrEqual(1);
    expect(checks).toBeLessThanOrEqual(3);
    // What it holds unused is bounded by its own demand: two leases of about a second of it.
    expect(mostHeld).toBeLessThanOrEqual(2 * 1000 + 100);
    // The cap still caps: at 100, one lease request per 100 requests, two leases held at most.
    const capped = await steadyTraffic({ maxUnits: 100, aheadMs: 1000 });
    expect(capped.checks).toBeGreaterThanOrEqual(15);
    expect(capped.mostHeld).toBeLessThanOrEqual(200);
  });

  describe('a busy key that resumes after a pause', () => {
    const busyOptions: LeasePoolOptions = { ...options, maxUnits: 1000, rememberDemandMs: 60_000 };
    /** 300 requests of the key within one window, then a pause that sweeps its book away. */
    const busyThenIdle = async () => {
      let now = 0;
      const ledger = new FakeLedger(100_000);
      const pool = new LeasePool(ledger, busyOptions, () => now);
      for (let i = 0; i < 300; i++) expect((await pool.admit(request())).allowed).toBe(true);
      await tick(); // the last renewal lands
      now = 5_000;
      await pool.sweep();
      expect(pool.heldUnits()).toBe(0);
      return { ledger, pool, at: (t: number) => (now = t) };
    };
    /** A burst of 300 concurrent requests: the lease requests they waited for (no renewals). */
    const burst = async (ledger: FakeLedger, pool: LeasePool) => {
      const before = ledger.checks.length;
      const answers = await Promise.all(Array.from({ length: 300 }, () => pool.admit(request())));
      expect(answers.every((a) => a.allowed)).toBe(true);
      return ledger.checks.slice(before).filter((c) => !c.requestId.endsWith(':renew'));
    };

    it('is sized from its demand before the pause: one lease request, not a ramp from one unit', async () => {
      const { ledger, pool, at } = await busyThenIdle();
      at(30_000);
      const checks = await burst(ledger, pool);
      expect(checks).toHaveLength(1);
      expect(checks[0].leaseUnits).toBeGreaterThanOrEqual(300);
    });

    it('forgets that demand after rememberDemandMs, and never remembers keys of one unit', async () => {
      const { ledger, pool, at } = await busyThenIdle();
      at(70_000);
      await pool.sweep();
      const checks = await burst(ledger, pool);
      expect(checks.length).toBeGreaterThan(1);
      expect(checks[0].leaseUnits).toBeLessThan(10);

      // A key that asks for one unit at a time is not remembered at all.
      const sparse = await pool.admit(request('pg_sparse'));
      expect(sparse.allowed).toBe(true);
      at(80_000);
      await pool.sweep();
      at(90_000);
      await pool.sweep();
      const before = ledger.checks.length;
      await pool.admit(request('pg_sparse'));
      expect(ledger.checks[before].leaseUnits).toBeLessThan(10);
    });

    it('gives what it did not use back once idle, like any lease', async () => {
      const { ledger, pool, at } = await busyThenIdle();
      at(30_000);
      const first = await pool.admit(request());
      expect(first.leaseUnits).toBeGreaterThanOrEqual(300);
      at(32_000);
      await pool.sweep();
      expect(pool.heldUnits()).toBe(0);
      expect(ledger.available).toBe(100_000 - 301);
    });
  });

  /** Four admissions at once against a service whose every Check fails: what each asked. */
  const admitFailing = async (paid: boolean) => {
    const asked: boolean[] = [];
    const calls: LeaseCalls = {
      check: async (_, paidAsk) => {
        asked.push(paidAsk);
        await new Promise((r) => setImmediate(r));
        throw new Error('entitlement unavailable');
      },
      release: async () => undefined,
      close: async () => undefined,
    };
    const pool = new LeasePool(calls, options);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => pool.admit({ ...request(), paid })),
    );
    return { outcomes, asked };
  };

  it('passes a failed refill on to the requests waiting for it', async () => {
    const { outcomes } = await admitFailing(false);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
  });

  it('lets a paid request that waited on a failed refill ask again itself, as paid', async () => {
    // The first refill is a decision's (it fails past its short deadline); the paid request
    // waiting for it asks again with its own, longer one (PAYMENT_CALL_TIMEOUT_MS).
    const ledger = new FakeLedger(5);
    const asked: boolean[] = [];
    const calls: LeaseCalls = {
      check: async (checkRequest, paid) => {
        asked.push(paid);
        if (asked.length === 1) {
          await new Promise((r) => setImmediate(r));
          throw new Error('deadline exceeded');
        }
        return ledger.check(checkRequest);
      },
      release: (leaseId, units) => ledger.release(leaseId, units),
      close: (leaseId, units) => ledger.close(leaseId, units),
    };
    const pool = new LeasePool(calls, options);
    const unpaid = pool.admit(request());
    const paid = pool.admit({ ...request(), paid: true });
    await expect(unpaid).rejects.toThrow('deadline exceeded');
    await expect(paid).resolves.toMatchObject({ allowed: true });
    expect(asked).toEqual([false, true]);
  });

  it('fails the paid requests waiting on a failed paid refill together, not one after another', async () => {
    // Each asking again itself would chain their long deadlines: the last would wait for all.
    const { outcomes, asked } = await admitFailing(true);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(asked).toEqual([true]);
  });

  it("renews in the background with a decision's deadline, also when a paid request started it", async () => {
    const ledger = new FakeLedger(1000);
    const asked: { renewal: boolean; paid: boolean }[] = [];
    const calls: LeaseCalls = {
      check: (checkRequest, paid) => {
        asked.push({ renewal: checkRequest.requestId.endsWith(':renew'), paid });
        return ledger.check(checkRequest);
      },
      release: (leaseId, units) => ledger.release(leaseId, units),
      close: (leaseId, units) => ledger.close(leaseId, units),
    };
    const pool = new LeasePool(calls, { ...options, maxUnits: 4 });
    for (let i = 0; i < 12; i++) await pool.admit({ ...request(), paid: true });
    await new Promise((r) => setImmediate(r));
    // Paid requests that found nothing asked with their own deadline; renewals did not.
    expect(asked.some((a) => a.renewal)).toBe(true);
    expect(asked.filter((a) => a.renewal).every((a) => !a.paid)).toBe(true);
    expect(asked.filter((a) => !a.renewal).every((a) => a.paid)).toBe(true);
  });
});
