import { PeriodicTask } from './periodic-task';

class Job extends PeriodicTask {
  runs = 0;
  release?: () => void;
  fail = false;
  readonly warnings: unknown[] = [];
  protected readonly intervalMs = 10;
  protected readonly failure = 'job failed';

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
});
