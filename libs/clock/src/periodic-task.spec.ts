import { metricsRegistry } from '@paygate/observability';
import { PeriodicTask, RetentionPruner } from './periodic-task';

class Job extends PeriodicTask {
  runs = 0;
  release?: () => void;
  fail = false;
  readonly warnings: unknown[] = [];
  protected readonly intervalMs = 10;
  protected readonly failure = 'job failed';

  /** inBatches, callable from the tests. */
  drain(batch: number, step: (batch: number) => Promise<number>): Promise<number> {
    return this.inBatches(batch, step);
  }

  constructor() {
    super();
    // Captures what the task logs instead of printing it.
    (this.logger as unknown as { warn: (...args: unknown[]) => void }).warn = (...args) =>
      this.warnings.push(args);
  }

  protected async runOnce(): Promise<number> {
    this.runs += 1;
    if (this.fail) throw new Error('boom');
    await new Promise<void>((resolve) => (this.release = resolve));
    return this.runs;
  }
}

describe('PeriodicTask', () => {
  it('runs batches until one takes fewer than the batch, and counts them all', async () => {
    let left = 2500;
    const asked: number[] = [];
    const take = async (batch: number) => {
      asked.push(batch);
      const n = Math.min(batch, left);
      left -= n;
      return n;
    };
    expect(await new Job().drain(1000, take)).toBe(2500);
    expect(asked).toEqual([1000, 1000, 1000]);
    // Exactly a batch left: one more, empty, to know it is done.
    left = 1000;
    asked.length = 0;
    expect(await new Job().drain(1000, take)).toBe(1000);
    expect(asked).toEqual([1000, 1000]);
  });

  it('never runs twice at once: a tick during a run waits for it instead of starting another', async () => {
    const job = new Job();
    const first = job.tick();
    const second = job.tick();
    expect(job.runs).toBe(1);
    job.release!();
    await Promise.all([first, second]);
    expect(job.runs).toBe(1);
    const third = job.tick();
    expect(job.runs).toBe(2);
    job.release!();
    await third;
  });

  it('logs a failed run and runs again on the next tick', async () => {
    const job = new Job();
    job.fail = true;
    await job.tick();
    expect(job.warnings).toHaveLength(1);
    expect(job.warnings[0]).toEqual([{ err: expect.any(Error) }, 'job failed']);
    await job.tick();
    expect(job.runs).toBe(2);
  });

  it('runs on its interval from bootstrap, and shutdown waits for the run under way', async () => {
    const job = new Job();
    job.onApplicationBootstrap();
    await new Promise((resolve) => setTimeout(resolve, 35));
    expect(job.runs).toBe(1); // the run started on the first tick has not ended: no second one
    let stopped = false;
    const stopping = job.onApplicationShutdown().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    job.release!();
    await stopping;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(job.runs).toBe(1);
  });

  it('counts and times its runs by outcome, a skipped tick included', async () => {
    const count = async (outcome: string) =>
      (
        (await metricsRegistry.getSingleMetric('paygate_periodic_task_runs_total')?.get())
          ?.values ?? []
      )
        .filter((v) => v.labels.task === 'Job' && v.labels.outcome === outcome)
        .reduce((n, v) => n + v.value, 0);
    const before = {
      ok: await count('ok'),
      failed: await count('failed'),
      skipped: await count('skipped'),
    };
    const job = new Job();
    const first = job.tick();
    const skipped = job.tick();
    job.release!();
    await Promise.all([first, skipped]);
    job.fail = true;
    await job.tick();
    expect(await count('ok')).toBe(before.ok + 1);
    expect(await count('skipped')).toBe(before.skipped + 1);
    expect(await count('failed')).toBe(before.failed + 1);
  });

  it('waits its interval give or take 10 % between runs (replicas drift apart)', async () => {
    const waits: number[] = [];
    const real = global.setTimeout;
    const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((
      _fn: () => void,
      ms: number,
    ) => {
      waits.push(ms);
      return real(() => undefined, 0);
    }) as typeof setTimeout);
    try {
      const job = new Job();
      for (let i = 0; i < 50; i++) job.onApplicationBootstrap();
      await job.onApplicationShutdown();
    } finally {
      spy.mockRestore();
    }
    expect(waits).toHaveLength(50);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(9);
    expect(Math.max(...waits)).toBeLessThanOrEqual(11);
    expect(new Set(waits).size).toBeGreaterThan(1);
  });
});

/** 2,500 rows past their retention, deleted a batch at a time. */
class Rows extends RetentionPruner {
  left = 2500;
  readonly asked: number[] = [];
  readonly logged: unknown[] = [];
  readonly counted: number[] = [];
  protected readonly intervalMs = 60_000;
  protected readonly failure = 'rows pruning failed';
  protected readonly batchSize = 1000;
  protected readonly what = 'rows';
  protected readonly pruned = { inc: (by: number) => void this.counted.push(by) };

  constructor() {
    super();
    (this.logger as unknown as { log: (...args: unknown[]) => void }).log = (...args) =>
      this.logged.push(args);
  }

  protected async forgetBatch(limit: number): Promise<number> {
    this.asked.push(limit);
    const n = Math.min(limit, this.left);
    this.left -= n;
    return n;
  }
}

describe('RetentionPruner', () => {
  it('deletes a batch per step until one comes back short, counting and logging what went', async () => {
    const rows = new Rows();
    expect(await rows.prune()).toBe(2500);
    expect(rows.asked).toEqual([1000, 1000, 1000]);
    expect(rows.counted).toEqual([1000, 1000, 500]);
    expect(rows.logged).toEqual([[{ pruned: 2500 }, 'rows pruned']]);
    // Nothing left: one short step, nothing logged.
    expect(await rows.prune(10)).toBe(0);
    expect(rows.asked.at(-1)).toBe(10);
    expect(rows.logged).toHaveLength(1);
  });
});
