import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { counter } from '@paygate/observability';
import { createHmac } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';
import { alertDeliveries } from './alert-deliveries.repository';

/** Where alerts go: the operator's webhook URL and the HMAC key that signs them. */
export interface AlertTarget {
  url: string | undefined;
  secret: string;
}

/** Queues alerts for delivery, in the caller's transaction when it passes one. */
export async function queueAlerts(
  manager: EntityManager | DataSource,
  schema: string,
  alerts: { type: string }[],
): Promise<void> {
  const queued = alertDeliveries(schema);
  for (const alert of alerts) await queued.queue(manager, alert);
}

const POLL_MS = 500;
const MAX_ATTEMPTS = 12;
const TIMEOUT_MS = 5_000;

const deliveries = counter(
  'paygate_alert_deliveries_total',
  'Alert webhook deliveries by outcome',
  ['outcome'],
);

/**
 * `Paygate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, so a receiver can
 * check both origin and freshness (the scheme Stripe uses).
 */
export function signAlert(secret: string, body: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/**
 * Delivers queued alerts (rows of the service's `<schema>.webhook_deliveries`, whose migration
 * each service keeps) with at-least-once semantics: a delivery is marked done only after a
 * 2xx; failures retry with exponential backoff (1 s, 2 s, 4 s ... capped at 1 h) up to
 * MAX_ATTEMPTS. Receivers dedupe on the Paygate-Event-Id header. Each service runs its own
 * over the deliveries table of its own schema.
 */
export class AlertDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AlertDispatcher.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly queued: ReturnType<typeof alertDeliveries>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: AlertTarget,
    schema: string,
  ) {
    this.queued = alertDeliveries(schema);
  }

  onApplicationBootstrap(): void {
    if (!this.settings.url) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.deliverDue()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, 'alert delivery round failed'))
        .finally(() => (this.running = undefined));
    }, POLL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: sends every due delivery once; returns how many were delivered. */
  async deliverDue(): Promise<number> {
    const url = this.settings.url;
    if (!url) return 0;
    return this.dataSource.transaction(async (manager) => {
      const due = await this.queued.lockDue(manager, MAX_ATTEMPTS);
      let delivered = 0;
      for (const d of due) {
        const body = JSON.stringify(d.payload);
        const error = await this.post(url, d.id, body);
        if (!error) {
          delivered += 1;
          deliveries.inc({ outcome: 'delivered' });
          await this.queued.markDelivered(manager, d.id);
        } else {
          deliveries.inc({ outcome: 'failed' });
          const backoffSeconds = Math.min(2 ** d.attempts, 3600);
          await this.queued.markFailed(manager, d.id, error.slice(0, 500), backoffSeconds);
        }
      }
      return delivered;
    });
  }

  private async post(url: string, id: string, body: string): Promise<string | undefined> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'paygate-event-id': id,
          'paygate-signature': signAlert(this.settings.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
