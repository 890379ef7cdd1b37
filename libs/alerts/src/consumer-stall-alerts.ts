import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ProgressSnapshot } from '@paygate/messaging';
import type { DataSource } from 'typeorm';
import { queueAlerts, type AlertTarget } from './alert-dispatcher';

const CHECK_MS = 5_000;

/** Names a consumer in its alerts. */
export interface StalledConsumer {
  service: string;
  consumer: string;
  group: string;
  topic: string;
}

export type ConsumerAlert =
  | (StalledConsumer & {
      type: 'consumer.stalled';
      lag: number;
      oldestUnappliedSeconds: number;
      partitions: { partition: number; lag: number; stuckSince: string }[];
    })
  | (StalledConsumer & { type: 'consumer.recovered'; lag: number });

/**
 * Sends `consumer.stalled` when a consumer stalls (see ConsumerProgress) and
 * `consumer.recovered` when it moves again, through the service's alert webhook. The alert is
 * queued in the service's deliveries table; while that fails (the database is what stalls the
 * consumer, say) the transition is tried again on the next check, so it is sent once it can be.
 */
export class ConsumerStallAlerts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ConsumerStallAlerts.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** What the webhook was last told. */
  private announcedStalled = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly target: AlertTarget,
    private readonly who: StalledConsumer,
    private readonly progress: () => ProgressSnapshot | undefined,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.target.url) return;
    this.timer = setInterval(() => {
      this.running ??= this.check()
        .then(() => undefined)
        .finally(() => (this.running = undefined));
    }, CHECK_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One check: queues an alert if the consumer's state changed since the last one sent. */
  async check(): Promise<ConsumerAlert | undefined> {
    const snapshot = this.progress();
    if (!snapshot) return undefined;
    const stalled = snapshot.stalled.length > 0;
    if (stalled === this.announcedStalled) return undefined;
    const alert: ConsumerAlert = stalled
      ? {
          type: 'consumer.stalled',
          ...this.who,
          lag: snapshot.lag,
          oldestUnappliedSeconds: Math.round(snapshot.oldestUnappliedMs / 1000),
          partitions: snapshot.stalled.map((p) => ({
            partition: p.partition,
            lag: p.lag,
            stuckSince: new Date(p.stuckSince ?? Date.now()).toISOString(),
          })),
        }
      : { type: 'consumer.recovered', ...this.who, lag: snapshot.lag };
    try {
      await queueAlerts(this.dataSource, this.schema, [alert]);
      this.announcedStalled = stalled;
      this.logger.warn({ ...alert }, alert.type);
      return alert;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, `${alert.type} alert not queued yet`);
      return undefined;
    }
  }
}
