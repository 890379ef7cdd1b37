import { isUUID } from 'class-validator';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { isUsageRecordedEvent, type UsageRecordedEvent } from '@paygate/contracts';
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

/**
 * Consumes usage.recorded: the messages of a batch that leases cover whole in one statement,
 * each other one in its own transaction, then the offset commits.
 */
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
    const events = messages.map((message) => this.parse(message));
    // Messages whose leases cover them whole are settled together first: one statement and
    // one commit for the batch, where each took its own.
    const valid = events.filter((e): e is UsageRecordedEvent => e !== undefined);
    const whole = await this.charge.executeWholeEach(valid).catch((err: unknown) => {
      // Content the database refuses fails the batch's statement: each message is then
      // applied alone below, where such a message is isolated and skipped.
      if (!isolatable(err)) throw err;
      return valid.map(() => undefined);
    });
    const settled = new Map(valid.map((event, i) => [event, whole[i]]));
    for (const [i, event] of events.entries()) {
      if (!event) continue;
      const outcome = settled.get(event);
      if (outcome === 'applied' || outcome === 'duplicate') {
        processed.inc({ outcome });
        continue;
      }
      const message = messages[i];
      try {
        processed.inc({ outcome: await this.charge.execute(event, outcome === 'partial') });
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

  /**
   * The message's event, or undefined (logged and counted) when it is not one. Metering is the
   * only producer; a malformed message is a bug there. It is skipped, because retrying it
   * forever would stall every customer behind it.
   */
  private parse(message: InboundMessage): UsageRecordedEvent | undefined {
    let event: unknown;
    try {
      event = JSON.parse(message.value?.toString() ?? '');
    } catch {
      event = undefined;
    }
    if (isUsageRecordedEvent(event) && isUUID(event.customerId)) return event;
    this.logger.error(
      { partition: message.partition, offset: message.offset },
      'invalid usage.recorded message',
    );
    processed.inc({ outcome: 'invalid' });
    return undefined;
  }
}
