import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { counter, histogram } from '@paygate/observability';

const runs = counter(
  'paygate_periodic_task_runs_total',
  'Runs of background jobs (sweeps, pruning, expiry) by outcome: ok, failed, or skipped because the previous run had not ended',
  ['task', 'outcome'],
);
const runSeconds = histogram(
  'paygate_periodic_task_seconds',
  'How long a background job run took',
  ['task'],
  [0.005, 0.025, 0.1, 0.5, 2.5, 10, 60],
);

/**
 * Each wait is the interval ± this share of it, so replicas started together drift apart
 * instead of sweeping the same rows at the same instant for ever.
 */
const JITTER = 0.1;

/**
 * A background job of a service (sweeps, pruning, expiry): runs about every `intervalMs` from
 * bootstrap until shutdown. Never two runs at once: a run that outlasts the interval makes
 * the next tick skip instead of piling up work (and database connections) behind it. A failed
 * run is logged as `failure` and the next tick tries again; shutdown waits for a run under way,
 * so no run outlives the connections it uses. The timer never keeps a process alive. Runs are
 * counted and timed per task (`paygate_periodic_task_runs_total`, `…_seconds`).
 */
export abstract class PeriodicTask implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private readonly task = this.constructor.name;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;

  /** Milliseconds between runs (each wait jittered by ±10 %). */
  protected abstract get intervalMs(): number;
  /** What a failed run is logged as. */
  protected abstract get failure(): string;
  /** One run; what it returns is for callers that run it directly (tests, scripts). */
  protected abstract runOnce(): Promise<unknown>;

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Runs now unless a run is under way (then that run is what this waits for). */
  tick(): Promise<void> {
    if (this.running) {
      runs.inc({ task: this.task, outcome: 'skipped' });
      return this.running;
    }
    const stop = runSeconds.startTimer({ task: this.task });
    this.running = this.runOnce()
      .then(
        () => runs.inc({ task: this.task, outcome: 'ok' }),
        (err: unknown) => {
          runs.inc({ task: this.task, outcome: 'failed' });
          this.logger.warn({ err }, this.failure);
        },
      )
      .finally(() => {
        stop();
        this.running = undefined;
      });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = this.intervalMs * (1 - JITTER + 2 * JITTER * Math.random());
    this.timer = setTimeout(() => {
      void this.tick();
      this.schedule();
    }, wait);
    this.timer.unref();
  }

  /**
   * Runs `step` (a delete of at most `batch` rows, answering how many went) until one takes
   * fewer than `batch`: a large backlog goes in short transactions that never hold locks long.
   * How many went in all.
   */
  protected async inBatches(
    batch: number,
    step: (batch: number) => Promise<number>,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await step(batch);
      total += count;
      if (count < batch) return total;
    }
  }
}

/**
 * A PeriodicTask that deletes what is past its retention: a batch of rows per statement until
 * a batch comes back short (inBatches), what went counted in `pruned` (a
 * `paygate_…_pruned_total` counter) and a run that deleted anything logged. A subclass says
 * what one batch deletes.
 */
export abstract class RetentionPruner extends PeriodicTask {
  /** Rows per statement (a test passes prune() fewer). */
  protected abstract get batchSize(): number;
  /** What goes, as the log line names it ("idempotency keys"). */
  protected abstract get what(): string;
  /** Counts what went. */
  protected abstract get pruned(): { inc(by: number): void };
  /** Deletes at most `limit` rows past the retention, oldest first; how many went. */
  protected abstract forgetBatch(limit: number): Promise<number>;

  protected runOnce(): Promise<number> {
    return this.prune();
  }

  /** Deletes everything past the retention, a batch at a time; how many rows went. */
  async prune(batch = this.batchSize): Promise<number> {
    const count = await this.inBatches(batch, async (limit) => {
      const gone = await this.forgetBatch(limit);
      this.pruned.inc(gone);
      return gone;
    });
    if (count > 0) this.logger.log({ pruned: count }, `${this.what} pruned`);
    return count;
  }
}
