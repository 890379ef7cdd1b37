import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { EntitlementChangeReason, parseEntitlementChangedEvent } from '@paygate/contracts';
import { BatchConsumer, createKafka } from '@paygate/messaging';
import { hostname } from 'node:os';
import { GatewayConfig } from '../config/gateway.config';
import { LeasesService } from './leases.service';

/** Changes after which leases already granted may no longer be right for the customer. */
const INVALIDATING: ReadonlySet<EntitlementChangeReason> = new Set([
  'api-key-revoked',
  'customer-changed',
  'subscription-changed',
  'subscription-created',
]);

/**
 * Follows entitlement.changed so a revoked key or a changed plan stops being admitted from
 * leases within about a second (the outbox relay's and the consumer's latency), not at the
 * end of the lease.
 */
@Injectable()
export class EntitlementChangesListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EntitlementChangesListener.name);
  private consumer?: BatchConsumer;

  constructor(
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    private readonly leases: LeasesService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = new BatchConsumer(
      createKafka('paygate-gateway-changes', this.config.KAFKA_BROKERS),
      {
        groupId: this.config.kafkaName(
          this.config.CHANGES_GROUP_ID || `paygate-gateway-${hostname()}-${this.config.HTTP_PORT}`,
        ),
        topic: this.config.topics.entitlementChanged,
        // Leases start empty: only changes from now on can concern them.
        fromBeginning: false,
      },
    );
    await this.consumer.start(async (messages) => {
      for (const m of messages) {
        const event = parseEntitlementChangedEvent(m.value);
        if (!event) {
          this.logger.warn({ offset: m.offset }, 'unreadable entitlement.changed message skipped');
        } else if (INVALIDATING.has(event.reason)) {
          await this.leases.forgetCustomer(event.customerId, event.reason);
        }
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
  }
}
