import { isUUID } from 'class-validator';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { isUsageRecordedEvent } from '@paygate/contracts';
import { isolatable } from '@paygate/database';
import { ConsumerHost, type ConsumerSetup, type InboundMessage } from '@paygate/messaging';
import { counter } from '@paygate/observability';
import { EntitlementConfig } from '../config/entitlement.config';
import { UsageChargeUseCase } from './usage-charge.use-case';

const processed = counter(
  'paygate_usage_recorded_messages_total',
  'usage.recorded messages by outcome',
  ['outcome'],
);

/** Consumes usage.recorded; a message is applied in its own transaction, then the offset commits. */
@Injectable()
export class UsageRecordedConsumer extends ConsumerHost {
  private readonly logger = new Logger(UsageRecordedConsumer.name);

  constructor(
    @Inject(EntitlementConfig) private readonly config: EntitlementConfig,
    private readonly charge: UsageChargeUseCase,
  ) {
    super();
  }

  protected consumerSetup(): ConsumerSetup {
    return {
      clientId: 'paygate-entitlement',
      brokers: this.config.KAFKA_BROKERS,
      options: {
        groupId: this.config.usageRecordedGroup,
        topic: this.config.topics.usageRecorded,
        stallMs: this.config.CONSUMER_STALL_SECONDS * 1000,
      },
    };
  }

  async handle(messages: InboundMessage[]): Promise<void> {
    for (const message of messages) {
      let event: unknown;
      try {
        event = JSON.parse(message.value?.toString() ?? '');
      } catch {
        event = undefined;
      }
      // Metering is the only producer; a malformed message is a bug there. It is logged and
      // skipped, because retrying it forever would stall every customer behind it.
      if (!isUsageRecordedEvent(event) || !isUUID(event.customerId)) {
        this.logger.error(
          { partition: message.partition, offset: message.offset },
          'invalid usage.recorded message',
        );
        processed.inc({ outcome: 'invalid' });
        continue;
      }
      try {
        processed.inc({ outcome: await this.charge.execute(event) });
      } catch (err) {
        // Infrastructure failures are retried with the batch (nothing of this message was
        // committed). A message the database refuses for what it carries would fail the same
        // way forever and stop every customer behind it: it is logged in full and skipped.
        if (!isolatable(err)) throw err;
        this.logger.error(
          {
            err: (err as Error).message,
            partition: message.partition,
            offset: message.offset,
            event,
          },
          'usage.recorded message refused by the database; skipped',
        );
        processed.inc({ outcome: 'unprocessable' });
      }
    }
  }
}
