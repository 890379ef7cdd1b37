import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { TOPICS, type UsageEvent } from '@paygate/contracts';
import { MessageProducer, createKafka, type OutboundMessage } from '@paygate/messaging';
import { counter, gauge } from '@paygate/observability';
import { GatewayConfig } from '../config/gateway.config';

const published = counter('paygate_gateway_usage_events_total', 'Usage events by publish outcome', [
  'outcome',
]);

const buffered = gauge('paygate_gateway_usage_buffer_events', 'Usage events waiting for Kafka');

const FLUSH_INTERVAL_MS = 5;
const MAX_BATCH = 1000;
/** How long shutdown keeps trying to publish what is buffered. */
const SHUTDOWN_FLUSH_MS = 3_000;

/** How long shutdown waits for the producer to disconnect. */
const DISCONNECT_MS = 1_000;

/** Waits for `work` (if any) at most `ms`; what it does after that is not waited for. */
async function within(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  try {
    await Promise.race([
      work.then(
        () => undefined,
        () => undefined,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the publisher needs of a producer (the real one, or a stand-in in unit tests). */
export type UsageProducer = Pick<MessageProducer, 'connect' | 'disconnect' | 'sendBatch'>;
export const USAGE_PRODUCER = Symbol('USAGE_PRODUCER');

/**
 * Publishes usage events in small batches through the idempotent producer. A failed send puts
 * the batch back at the head of the queue and is retried; on shutdown the queue is flushed.
 * The queue is bounded: once full it reports saturation, and the gateway stops admitting
 * metered requests until Kafka takes events again.
 */
@Injectable()
export class UsagePublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UsagePublisher.name);
  private readonly producer: UsageProducer;
  private readonly capacity: number;
  private readonly topic: string;
  private queue: OutboundMessage[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  /** Events of the batch being sent now: neither queued nor confirmed. */
  private inFlight = 0;
  /** Shutdown began: only its own loop flushes from now on. */
  private stopping = false;
  private readonly drains: (() => void)[] = [];

  constructor(
    @Inject(GatewayConfig)
    config: Pick<GatewayConfig, 'KAFKA_BROKERS' | 'USAGE_BUFFER_MAX'> &
      Partial<Pick<GatewayConfig, 'usageTopic'>>,
    @Optional() @Inject(USAGE_PRODUCER) producer?: UsageProducer,
  ) {
    this.producer =
      producer ?? new MessageProducer(createKafka('paygate-gateway', config.KAFKA_BROKERS));
    this.capacity = config.USAGE_BUFFER_MAX;
    this.topic = config.usageTopic ?? TOPICS.usage;
    buffered.set(0);
  }

  /** True while the buffer is full: a served request could not be metered now. */
  get saturated(): boolean {
    return this.queue.length >= this.capacity;
  }

  get buffered(): number {
    return this.queue.length;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
  }

  /**
   * Registers what holds usage back (ServedUsage's open windows): called at the start of
   * shutdown, before the last flush, so that it is published with the rest.
   */
  beforeLastFlush(drain: () => void): void {
    this.drains.push(drain);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const drain of this.drains) drain();
    clearTimeout(this.timer);
    // Bounded as a whole, the send under way included (a send to a broker that is down retries
    // for longer than this), so the process's SHUTDOWN_DEADLINE_MS is never what ends it: what
    // is not confirmed by then is logged with its count, so the loss is visible, never silent.
    const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
    const left = () => Math.max(0, deadline - Date.now());
    await within(this.flushing, left());
    while (this.queue.length > 0 && left() > 0) {
      this.flushing = this.flush();
      await within(this.flushing, left());
    }
    const unconfirmed = this.queue.length + this.inFlight;
    if (unconfirmed > 0) {
      published.inc({ outcome: 'lost' }, unconfirmed);
      this.logger.error(
        { lost: unconfirmed, sending: this.inFlight },
        'usage events not published before shutdown',
      );
    }
    await within(this.producer.disconnect(), DISCONNECT_MS);
  }

  publish(event: UsageEvent): void {
    this.queue.push({ topic: this.topic, key: event.subject, value: JSON.stringify(event) });
    buffered.set(this.queue.length);
    if (!this.timer && !this.flushing && !this.stopping)
      this.timer = setTimeout(() => this.startFlush(), FLUSH_INTERVAL_MS);
  }

  private startFlush(): void {
    this.timer = undefined;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      // Once shutdown began its loop sends the rest: a second sender beside it could take a
      // batch the loop then never waits for.
      if (this.queue.length > 0 && !this.stopping)
        this.timer = setTimeout(() => this.startFlush(), FLUSH_INTERVAL_MS);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.inFlight = batch.length;
    try {
      await this.producer.sendBatch(batch);
      this.inFlight = 0;
      published.inc({ outcome: 'sent' }, batch.length);
      buffered.set(this.queue.length);
    } catch (err) {
      this.inFlight = 0;
      this.queue.unshift(...batch);
      published.inc({ outcome: 'retried' }, batch.length);
      this.logger.warn({ err, queued: this.queue.length }, 'usage publish failed; will retry');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
