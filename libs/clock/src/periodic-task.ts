import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';

/**
 * A background job of a service (sweeps, pruning, expiry): runs every `intervalMs` from
 * bootstrap until shutdown. Never two runs at once: a run that outlasts the interval makes
 * the next tick skip instead of piling up work (and database connections) behind it. A failed
 * run is logged as `failure` and the next tick tries again; shutdown waits for a run under way,
 * so no run outlives the connections it uses. The timer never keeps a process alive.
 */
export abstract class PeriodicTask implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger(this.constructor.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  /** Milliseconds between runs. */
  protected abstract get intervalMs(): number;
  /** What a failed run is logged as. */
  protected abstract get failure(): string;
  /** One run; what it returns is for callers that run it directly (tests, scripts). */
  protected abstract runOnce(): Promise<unknown>;

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs now unless a run is under way (then that run is what this waits for). */
  tick(): Promise<void> {
    this.running ??= this.runOnce()
      .then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err }, this.failure),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
