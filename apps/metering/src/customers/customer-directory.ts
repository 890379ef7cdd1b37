import { Inject, Injectable, Logger } from '@nestjs/common';
import { parseEntitlementChangedEvent } from '@paygate/contracts';
import { isolatable } from '@paygate/database';
import { ConsumerHost, type ConsumerSetup, type InboundMessage } from '@paygate/messaging';
import { counter } from '@paygate/observability';
import { isUUID } from 'class-validator';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { customerHoldKey, lockHolds, releaseHeld } from './holds';
import { knownCustomers } from './known-customers.repository';

const skipped = counter(
  'paygate_metering_customer_events_skipped_total',
  'entitlement.changed messages the customers consumer skipped, by reason',
  ['reason'],
);

/**
 * Whether a customer-created event's id can be a customer: the entitlement service's customers
 * are uuid primary keys, and it refuses any other customer id (isUUID, as its gRPC and
 * usage.recorded consumers check). Anything else names no one, and some of it (a NUL, an id past
 * Postgres's 2,704-byte index row) the database refuses, which stopped the partition for good.
 */
export function isCustomerId(id: unknown): id is string {
  return typeof id === 'string' && isUUID(id);
}

/** A refused id for a log line: escaped, and short whatever its size. */
const shown = (id: string) => JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);

/**
 * The customers the entitlement service announced (entitlement.changed, customer-created),
 * for the unknown-customer policy. Known customers are cached (they are never forgotten);
 * an unknown one is looked up again on every batch, since it may be announced any moment.
 */
@Injectable()
export class CustomerDirectory extends ConsumerHost {
  private readonly logger = new Logger(CustomerDirectory.name);
  private readonly known = new Set<string>();

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
  ) {
    super();
  }

  /** Its consumer group (named in alerts too). */
  get groupId(): string {
    return `${this.config.usageGroup}-customers`;
  }

  protected consumerSetup(): ConsumerSetup {
    return {
      clientId: 'paygate-metering-customers',
      brokers: this.config.KAFKA_BROKERS,
      options: {
        groupId: this.groupId,
        topic: this.config.topics.entitlementChanged,
        stallMs: this.config.CONSUMER_STALL_SECONDS * 1000,
      },
    };
  }

  /**
   * Skips what is no announcement of a customer (logged and counted): retrying it could never
   * succeed, and the customers behind it on the partition would never become known.
   */
  protected async handle(messages: InboundMessage[]): Promise<void> {
    const created: string[] = [];
    for (const m of messages) {
      const event = parseEntitlementChangedEvent(m.value);
      if (!event) {
        skipped.inc({ reason: 'unreadable' });
        this.logger.warn({ offset: m.offset }, 'unreadable entitlement.changed message skipped');
      } else if (event.reason !== 'customer-created') {
        continue;
      } else if (!isCustomerId(event.customerId)) {
        skipped.inc({ reason: 'invalid-customer-id' });
        this.logger.warn(
          { partition: m.partition, offset: m.offset, customerId: shown(event.customerId) },
          'customer-created message whose customerId is not a UUID skipped',
        );
      } else {
        created.push(event.customerId);
      }
    }
    await this.announce(created);
  }

  /**
   * Records customers as known and releases the events held for them, in one transaction.
   * When the database refuses something a customer id carries (SQLSTATE classes 22, 23, 54, as
   * the usage consumer isolates), the ids are announced in halves, each in its own transaction,
   * down to the one at fault, which is logged, counted and left out: no id can make the batch
   * fail on every delivery. Safe to split: each write is keyed, so announcing again is a no-op.
   * Infrastructure failures are thrown, and the consumer retries the batch.
   */
  async announce(customerIds: string[]): Promise<number> {
    if (customerIds.length === 0) return 0;
    try {
      return await this.announceTogether(customerIds);
    } catch (err) {
      if (!isolatable(err)) throw err;
      if (customerIds.length === 1) {
        skipped.inc({ reason: 'unprocessable' });
        this.logger.error(
          { customerId: shown(customerIds[0]), err: (err as Error).message },
          'customer id refused by the database; skipped',
        );
        return 0;
      }
      const half = Math.ceil(customerIds.length / 2);
      const first = await this.announce(customerIds.slice(0, half));
      return first + (await this.announce(customerIds.slice(half)));
    }
  }

  private async announceTogether(customerIds: string[]): Promise<number> {
    const released = await this.dataSource.transaction(async (manager) => {
      await lockHolds(manager, customerIds.map(customerHoldKey));
      await knownCustomers.add(manager, customerIds);
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
    for (const id of await knownCustomers.among(this.dataSource, missing)) this.known.add(id);
  }

  isKnown(customerId: string): boolean {
    return this.known.has(customerId);
  }
}
