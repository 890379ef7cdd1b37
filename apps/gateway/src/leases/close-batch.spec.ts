import { CloseBatch } from './close-batch';

/** A CloseBatch whose sends are recorded; a send settles when `finish` is called. */
function batch(max = 3) {
  const sent: string[][] = [];
  const finish: (() => void)[] = [];
  const closes = new CloseBatch(
    (ids) =>
      new Promise<void>((resolve) => {
        sent.push(ids);
        finish.push(resolve);
      }),
    { delayMs: 100, max },
  );
  return { closes, sent, finish };
}

describe('CloseBatch', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends the closes of a window as one call, once the first has waited delayMs', async () => {
    const { closes, sent, finish } = batch();
    let landed = 0;
    void closes.add('a').then(() => landed++);
    await jest.advanceTimersByTimeAsync(60);
    void closes.add('b').then(() => landed++);
    await jest.advanceTimersByTimeAsync(39);
    expect(sent).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([['a', 'b']]);
    // Each close settles when its batch was sent, not before.
    expect(landed).toBe(0);
    finish[0]();
    await jest.advanceTimersByTimeAsync(0);
    expect(landed).toBe(2);
    // The next close starts a window of its own.
    void closes.add('c');
    await jest.advanceTimersByTimeAsync(99);
    expect(sent).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([['a', 'b'], ['c']]);
  });

  it('sends a batch at once when it is full, and what follows in a batch of its own', async () => {
    const { closes, sent } = batch(3);
    for (const id of ['a', 'b', 'c', 'd']) void closes.add(id);
    expect(sent).toEqual([['a', 'b', 'c']]);
    expect(closes.size).toBe(1);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([['a', 'b', 'c'], ['d']]);
    expect(closes.size).toBe(0);
  });

  it('once draining (a shutdown), sends what waits and then each task’s closes together, without waiting', async () => {
    const { closes, sent, finish } = batch(10);
    void closes.add('a');
    const drained = closes.drain();
    expect(sent).toEqual([['a']]);
    finish[0]();
    await drained;
    // The pool's last closes, made in one go: one call, sent before any timer could fire.
    const last = ['b', 'c', 'd'].map((id) => closes.add(id));
    await Promise.resolve();
    expect(sent).toEqual([['a'], ['b', 'c', 'd']]);
    finish[1]();
    await Promise.all(last);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('drains only once the batches already sent were answered', async () => {
    const { closes, sent, finish } = batch(2);
    // A full batch goes out at once; its answer is slow.
    void closes.add('a');
    void closes.add('b');
    expect(sent).toEqual([['a', 'b']]);
    let drained = false;
    void closes.drain().then(() => (drained = true));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(drained).toBe(false);
    finish[0]();
    await jest.advanceTimersByTimeAsync(0);
    expect(drained).toBe(true);
  });

  it('a flush with nothing waiting sends nothing', async () => {
    const { closes, sent } = batch();
    await closes.flush();
    await closes.drain();
    expect(sent).toEqual([]);
  });
});
