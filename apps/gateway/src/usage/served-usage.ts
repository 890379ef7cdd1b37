import { Inject, Injectable } from '@nestjs/common';
import { hotCounter } from '@paygate/observability';
import { randomUUID } from 'node:crypto';
import { GatewayConfig } from '../config/gateway.config';
import { UsageAggregator } from './usage-aggregator';
import { type ServedRequest, servedRequestEvent } from './usage-event.factory';
import { UsagePublisher } from './usage.publisher';

const metered = hotCounter(
  'paygate_gateway_served_requests_metered_total',
  'Served requests handed to metering, by how they are reported: aggregated or per-request',
  ['mode'],
);

/**
 * Reports served requests to metering: folded into one event per window and kind of request
 * (UsageAggregator, every USAGE_AGGREGATE_MS), or one event each for a route that asks for it
 * (`usageEvents: per-request`) or when USAGE_AGGREGATE_MS is 0. Ended windows go to the
 * publisher as soon as they end. On shutdown the publisher drains every window before its last
 * flush; a request served after that (one still in flight) is published on its own.
 */
@Injectable()
export class ServedUsage {
  private readonly aggregator?: UsageAggregator;
  private readonly source: string;
  private timer?: NodeJS.Timeout;
  private drained = false;

  constructor(
    private readonly publisher: UsagePublisher,
    @Inject(GatewayConfig)
    config: Pick<GatewayConfig, 'USAGE_EVENT_SOURCE' | 'USAGE_AGGREGATE_MS'>,
  ) {
    this.source = config.USAGE_EVENT_SOURCE;
    if (config.USAGE_AGGREGATE_MS > 0)
      this.aggregator = new UsageAggregator({
        source: config.USAGE_EVENT_SOURCE,
        // Event ids are this process's own: two gateways never publish the same id.
        holder: randomUUID(),
        windowMs: config.USAGE_AGGREGATE_MS,
      });
    publisher.beforeLastFlush(() => this.drain());
  }

  record(served: ServedRequest, perRequest: boolean): void {
    if (!this.aggregator || perRequest || this.drained) {
      metered.inc({ mode: 'per-request' });
      this.publisher.publish(servedRequestEvent(this.source, served));
      return;
    }
    metered.inc({ mode: 'aggregated' });
    const nowMs = Date.now();
    const windowEnd = this.aggregator.add(served, nowMs);
    this.timer ??= setTimeout(() => this.flushEnded(), windowEnd - nowMs);
  }

  /** Requests counted in windows not yet published. */
  get pending(): number {
    return this.aggregator?.pending ?? 0;
  }

  /** Publishes every window, ended or not; later requests are published one by one. */
  drain(): void {
    this.drained = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const event of this.aggregator?.takeAll() ?? []) this.publisher.publish(event);
  }

  private flushEnded(): void {
    this.timer = undefined;
    if (!this.aggregator) return;
    const nowMs = Date.now();
    for (const event of this.aggregator.takeEnded(nowMs)) this.publisher.publish(event);
    // Requests of the window that runs now: published when it ends.
    if (this.aggregator.pending > 0) {
      const windowMs = this.aggregator.windowMs;
      this.timer = setTimeout(() => this.flushEnded(), windowMs - (nowMs % windowMs));
    }
  }
}
