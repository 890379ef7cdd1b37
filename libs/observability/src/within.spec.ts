import { within } from './within';

describe('within', () => {
  afterEach(() => jest.useRealTimers());

  it('gives the outcome of work that settles in time, and clears its timer', async () => {
    jest.useFakeTimers();
    await expect(within(1000, Promise.resolve(7), () => new Error('late'))).resolves.toBe(7);
    await expect(
      within(1000, Promise.reject(new Error('own')), () => new Error('late')),
    ).rejects.toThrow('own');
    expect(jest.getTimerCount()).toBe(0);
  });

  it("rejects with late()'s error once the time has passed without an outcome", async () => {
    jest.useFakeTimers();
    const never = new Promise<number>(() => undefined);
    const outcome = within(1000, never, () => new RangeError('did not answer'));
    jest.advanceTimersByTime(999);
    let settled = false;
    void outcome.then(
      () => (settled = true),
      () => (settled = true),
    );
    await Promise.resolve();
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    await expect(outcome).rejects.toThrow(RangeError);
    expect(jest.getTimerCount()).toBe(0);
  });
});
