import { type Attempt, RetriedCalls } from './retried-calls';

const OPTIONS = { everyMs: 1_000, forMs: 10_000, max: 2 };

/** A call that fails `failures` times, then lands; counts its tries. */
function flaky(failures: number) {
  const call = Object.assign(
    async () => {
      call.tries += 1;
      if (call.tries <= failures) throw new Error(`try ${call.tries} failed`);
    },
    { tries: 0 },
  );
  return call;
}

describe('RetriedCalls', () => {
  it('keeps a failed call and tries it again once due, until it lands', async () => {
    let now = 0;
    const calls = new RetriedCalls(OPTIONS, () => now);
    const call = flaky(2);
    expect(await calls.attempt('a', call)).toMatchObject({ landed: false, kept: true });
    const tried: [string, Attempt][] = [];
    const log = (key: string, attempt: Attempt) => tried.push([key, attempt]);
    now = 999;
    expect(await calls.retry(log)).toEqual([]);
    expect(call.tries).toBe(1);
    now = 1_000;
    await calls.retry(log);
    now = 2_000;
    await calls.retry(log);
    expect(call.tries).toBe(3);
    expect(tried.map(([key, attempt]) => [key, attempt.landed])).toEqual([
      ['a', false],
      ['a', true],
    ]);
    expect(calls.size).toBe(0);
  });

  it('gives up on a call forMs after its first failure, however often it was tried', async () => {
    let now = 0;
    const calls = new RetriedCalls(OPTIONS, () => now);
    const call = flaky(Infinity);
    await calls.attempt('a', call);
    for (now = 1_000; now <= 10_000; now += 1_000) expect(await calls.retry(() => {})).toEqual([]);
    expect(call.tries).toBe(11);
    now = 11_000;
    expect(await calls.retry(() => {})).toEqual(['a']);
    expect(call.tries).toBe(11);
    expect(calls.size).toBe(0);
  });

  it('tries every kept call at once when asked for all (shutdown)', async () => {
    let now = 0;
    const calls = new RetriedCalls(OPTIONS, () => now);
    const [a, b] = [flaky(1), flaky(1)];
    await calls.attempt('a', a);
    now = 500;
    await calls.attempt('b', b);
    await calls.retry(() => {}, true);
    expect([a.tries, b.tries]).toEqual([2, 2]);
    expect(calls.size).toBe(0);
  });

  it('tries a kept call once however many passes overlap', async () => {
    let now = 0;
    const calls = new RetriedCalls(OPTIONS, () => now);
    // `a` fails, then hangs on its retry until let go; `b` fails once, then lands.
    let letGo = () => {};
    const a = Object.assign(
      async () => {
        a.tries += 1;
        if (a.tries === 1) throw new Error('down');
        await new Promise<void>((resolve) => (letGo = resolve));
      },
      { tries: 0 },
    );
    const b = flaky(1);
    await calls.attempt('a', a);
    await calls.attempt('b', b);
    now = 1_000;
    const slow = calls.retry(() => {});
    // The next pass starts while the first waits on `a`: it tries `b`, and the first, once
    // `a` answers, finds `b` gone and leaves it alone.
    await calls.retry(() => {});
    letGo();
    await slow;
    expect([a.tries, b.tries]).toEqual([2, 2]);
    expect(calls.size).toBe(0);
  });

  it('tries every kept call at the same time at shutdown', async () => {
    const calls = new RetriedCalls(OPTIONS, () => 0);
    let started = 0;
    const gates: (() => void)[] = [];
    const hanging = async () => {
      started += 1;
      if (started <= 2) throw new Error('down');
      await new Promise<void>((resolve) => gates.push(resolve));
    };
    await calls.attempt('a', hanging);
    await calls.attempt('b', hanging);
    const pass = calls.retry(() => {}, true);
    await new Promise((r) => setImmediate(r));
    // Both are under way before either answered.
    expect(started).toBe(4);
    gates.forEach((go) => go());
    await pass;
    expect(calls.size).toBe(0);
  });

  it('keeps at most max calls: one failing beyond that is reported lost', async () => {
    const calls = new RetriedCalls(OPTIONS, () => 0);
    await calls.attempt('a', flaky(1));
    await calls.attempt('b', flaky(1));
    const third = await calls.attempt('c', flaky(1));
    expect(third).toMatchObject({ landed: false, kept: false });
    expect(third.landed === false && third.error.message).toBe('try 1 failed');
    expect(calls.size).toBe(2);
  });
});
