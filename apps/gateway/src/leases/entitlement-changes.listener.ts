import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  EntitlementChangeReason,
  changeTransaction,
  parseEntitlementChangedEvent,
} from '@paygate/contracts';
import { ConsumerHost, type ConsumerSetup, type InboundMessage } from '@paygate/messaging';
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
export class EntitlementChangesListener extends ConsumerHost {
  private readonly logger = new Logger(EntitlementChangesListener.name);

  constructor(
    @Inject(GatewayConfig) private readonly config: GatewayConfig,
    private readonly leases: LeasesService,
  ) {
    super();
  }

  protected consumerSetup(): ConsumerSetup {
    return {
      clientId: 'paygate-gateway-changes',
      brokers: this.config.KAFKA_BROKERS,
      options: {
        groupId: this.config.kafkaName(
          this.config.CHANGES_GROUP_ID || `paygate-gateway-${hostname()}-${this.config.HTTP_PORT}`,
        ),
        topic: this.config.topics.entitlementChanged,
        // Leases start empty: only changes from now on can concern them.
        fromBeginning: false,
        stallMs: this.config.CONSUMER_STALL_SECONDS * 1000,
      },
    };
  }

  protected async handle(messages: InboundMessage[]): Promise<void> {
    for (const m of messages) {
      const event = parseEntitlementChangedEvent(m.value);
      if (!event) {
        this.logger.warn({ offset: m.offset }, 'unreadable entitlement.changed message skipped');
      } else if (INVALIDATING.has(event.reason)) {
        const change = changeTransaction(event);
        await this.leases.forgetCustomer(event.customerId, event.reason, change);
      }
    }
  }
}
