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
      /** Partitions with lag that has not moved for the stall time (of the last assignment). */
      partitions: { partition: number; lag: number; stuckSince: string }[];
      /**
       * Set when the consumer has been out of its group for the stall time (never joined,
       * crashed and not back, stopped): it applies nothing, whatever its lag shows.
       */
      outOfGroup?: { seconds: number; why: string };
    })
  | (StalledConsumer & { type: 'consumer.recovered'; lag: number });

/** A consumer to watch, and how to read its progress (ConsumerHost.progress). */
export interface WatchedConsumer {
  who: StalledConsumer;
  progress: () => ProgressSnapshot | undefined;
}

/**
 * Sends `consumer.stalled` when a consumer stalls or has been out of its group for the stall
 * time (see ConsumerProgress) and `consumer.recovered` when it moves again, through the
 * service's alert webhook, for each consumer of the service it watches. The alert is queued
 * in the service's deliveries table; while that fails (the database is what stalls the
 * consumer, say) the transition is tried again on the next check, so it is sent once it can be.
 */
export class ConsumerStallAlerts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ConsumerStallAlerts.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** What the webhook was last told, per consumer (by its position in `watched`). */
  private readonly announcedStalled: boolean[];

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly target: AlertTarget,
    private readonly watched: readonly WatchedConsumer[],
  ) {
    this.announcedStalled = watched.map(() => false);
  }

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

  /** One check: queues an alert for each consumer whose state changed since the last one sent. */
  async check(): Promise<ConsumerAlert[]> {
    const sent: ConsumerAlert[] = [];
    for (const [i, consumer] of this.watched.entries()) {
      const alert = this.transition(consumer, this.announcedStalled[i]);
      if (!alert) continue;
      try {
        await queueAlerts(this.dataSource, this.schema, [alert]);
        this.announcedStalled[i] = alert.type === 'consumer.stalled';
        this.logger.warn({ ...alert }, alert.type);
        sent.push(alert);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, `${alert.type} alert not queued yet`);
      }
    }
    return sent;
  }

  /** The alert for a change from what was announced, if any. */
  private transition(
    { who, progress }: WatchedConsumer,
    announced: boolean,
  ): ConsumerAlert | undefined {
    const snapshot = progress();
    if (!snapshot) return undefined;
    const out = snapshot.outOfGroup;
    const stalled = snapshot.stalled.length > 0 || out !== undefined;
    if (stalled === announced) return undefined;
    if (!stalled) return { type: 'consumer.recovered', ...who, lag: snapshot.lag };
    return {
      type: 'consumer.stalled',
      ...who,
      lag: snapshot.lag,
      oldestUnappliedSeconds: Math.round(snapshot.oldestUnappliedMs / 1000),
      partitions: snapshot.stalled.map((p) => ({
        partition: p.partition,
        lag: p.lag,
        stuckSince: new Date(p.stuckSince ?? Date.now()).toISOString(),
      })),
      ...(out ? { outOfGroup: { seconds: Math.round(out.sinceMs / 1000), why: out.why } } : {}),
    };
  }
}
