import { Inject, Injectable, Logger } from '@nestjs/common';
import { parseEntitlementChangedEvent } from '@paygate/contracts';
import { ConsumerHost, type ConsumerSetup, type InboundMessage } from '@paygate/messaging';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { customerHoldKey, lockHolds, releaseHeld } from './holds';
import { knownCustomers } from './known-customers.repository';

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

  protected async handle(messages: InboundMessage[]): Promise<void> {
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
  }

  /** Records customers as known and releases the events held for them, in one transaction. */
  async announce(customerIds: string[]): Promise<number> {
    if (customerIds.length === 0) return 0;
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
