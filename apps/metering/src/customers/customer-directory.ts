import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { parseEntitlementChangedEvent } from '@paygate/contracts';
import { BatchConsumer, createKafka } from '@paygate/messaging';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { customerHoldKey, lockHolds, releaseHeld } from './holds';

/**
 * The customers the entitlement service announced (entitlement.changed, customer-created),
 * for the unknown-customer policy. Known customers are cached (they are never forgotten);
 * an unknown one is looked up again on every batch, since it may be announced any moment.
 */
@Injectable()
export class CustomerDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CustomerDirectory.name);
  private readonly known = new Set<string>();
  private consumer?: BatchConsumer;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = new BatchConsumer(
      createKafka('paygate-metering-customers', this.config.KAFKA_BROKERS),
      {
        groupId: `${this.config.usageGroup}-customers`,
        topic: this.config.topics.entitlementChanged,
      },
    );
    await this.consumer.start(async (messages) => {
      const created: string[] = [];
      for (const m of messages) {
        const event = parseEntitlementChangedEvent(m.value);
        if (!event) {
          this.logger.warn({ offset: m.offset }, 'unreadable entitlement.changed message skipped');
        } else if (event.reason === 'customer-created') {
          created.push(event.customerId);
        }
      }
      await this.announce(created);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }

  /** Records customers as known and releases the events held for them, in one transaction. */
  async announce(customerIds: string[]): Promise<number> {
    if (customerIds.length === 0) return 0;
    const released = await this.dataSource.transaction(async (manager) => {
      await lockHolds(manager, customerIds.map(customerHoldKey));
      await manager.query(
        `INSERT INTO "metering"."known_customers" ("customer_id")
         SELECT * FROM unnest($1::text[]) ON CONFLICT DO NOTHING`,
        [customerIds],
      );
      let count = 0;
      for (const id of customerIds)
        count += await releaseHeld(manager, 'unknown-customer', 'subject', id);
      return count;
    });
    for (const id of customerIds) this.known.add(id);
    return released;
  }

  /** Loads which of these customers are known; afterwards isKnown answers for them. */
  async prefetch(customerIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(customerIds)].filter((id) => !this.known.has(id));
    if (missing.length === 0) return;
    const rows: { customer_id: string }[] = await this.dataSource.query(
      `SELECT "customer_id" FROM "metering"."known_customers" WHERE "customer_id" = ANY($1)`,
      [missing],
    );
    for (const r of rows) this.known.add(r.customer_id);
  }

  isKnown(customerId: string): boolean {
    return this.known.has(customerId);
  }
}
