import { DynamicModule, Module } from '@nestjs/common';
import { Clock, SystemClock } from '@paygate/clock';
import { databaseProviders, outboxRelayProvider } from '@paygate/database';
import { ADMIN_TOKEN, AdminTokenGuard } from '@paygate/http';
import { AlertDispatcher, ConsumerStallAlerts } from '@paygate/alerts';
import { consumerReadiness } from '@paygate/messaging';
import { DataSource } from 'typeorm';
import { HealthController, MetricsController, loggerModule } from '@paygate/observability';
import { MeteringConfig } from './config/metering.config';
import { METERING_SCHEMA, meteringDataSource } from './database/metering.data-source';
import { CustomerDirectory } from './customers/customer-directory';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DeadLettersPruner } from './dead-letters/dead-letters-pruner';
import { DeadLettersService } from './dead-letters/dead-letters.service';
import { EventsController } from './events/events.controller';
import { EventsPublisher } from './events/events.publisher';
import { ServiceTokenGuard } from './events/service-token.guard';
import { MetersController } from './meters/meters.controller';
import { MetersRepository } from './meters/meters.repository';
import { MetersService } from './meters/meters.service';
import { DedupePruner } from './usage/dedupe-pruner';
import { UsageController } from './usage/usage.controller';
import { UsageConsumer } from './usage/usage.consumer';
import { UsageIngestService } from './usage/usage-ingest.service';
import { UsageQueryService } from './usage/usage-query.service';
import { UnmatchedEventsRepository } from './usage/unmatched-events.repository';
import { UnmatchedEventsPruner } from './usage/unmatched-events-pruner';

@Module({})
export class MeteringModule {
  static forRoot(config: MeteringConfig): DynamicModule {
    const alertTarget = {
      url: config.ALERT_WEBHOOK_URL,
      secret: config.ALERT_WEBHOOK_SECRET ?? '',
    };
    return {
      module: MeteringModule,
      imports: [
        loggerModule('metering', config.LOG_LEVEL, { bufferBytes: config.LOG_BUFFER_BYTES }),
      ],
      controllers: [
        MetersController,
        UsageController,
        EventsController,
        DeadLettersController,
        HealthController,
        MetricsController,
      ],
      providers: [
        { provide: MeteringConfig, useValue: config },
        { provide: ADMIN_TOKEN, useValue: config.ADMIN_TOKEN },
        { provide: Clock, useClass: SystemClock },
        ...databaseProviders(
          () =>
            meteringDataSource(
              config.DATABASE_URL,
              config.DATABASE_POOL_SIZE,
              config.DATABASE_QUERY_TIMEOUT_MS,
            ),
          {
            inject: [UsageConsumer, CustomerDirectory],
            outbox: { schema: METERING_SCHEMA, maxAgeSeconds: config.CONSUMER_STALL_SECONDS },
            checks: (usage: UsageConsumer, customers: CustomerDirectory) => [
              consumerReadiness('usage-consumer', () => usage.progress()),
              // Stalled, events of new customers stay held (or dead-lettered) however long.
              consumerReadiness('customers-consumer', () => customers.progress()),
            ],
          },
        ),
        outboxRelayProvider(METERING_SCHEMA, 'paygate-metering-outbox', config.KAFKA_BROKERS),
        {
          provide: AlertDispatcher,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) =>
            new AlertDispatcher(dataSource, alertTarget, METERING_SCHEMA),
        },
        {
          provide: ConsumerStallAlerts,
          inject: [DataSource, UsageConsumer, CustomerDirectory],
          useFactory: (
            dataSource: DataSource,
            usage: UsageConsumer,
            customers: CustomerDirectory,
          ) =>
            new ConsumerStallAlerts(dataSource, METERING_SCHEMA, alertTarget, [
              {
                who: {
                  service: 'metering',
                  consumer: 'usage-consumer',
                  group: config.usageGroup,
                  topic: config.usageTopic,
                },
                progress: () => usage.progress(),
              },
              {
                who: {
                  service: 'metering',
                  consumer: 'customers-consumer',
                  group: customers.groupId,
                  topic: config.topics.entitlementChanged,
                },
                progress: () => customers.progress(),
              },
            ]),
        },
        EventsPublisher,
        AdminTokenGuard,
        ServiceTokenGuard,
        MetersRepository,
        MetersService,
        UsageIngestService,
        UsageQueryService,
        UnmatchedEventsRepository,
        UsageConsumer,
        DedupePruner,
        UnmatchedEventsPruner,
        CustomerDirectory,
        DeadLettersService,
        DeadLettersPruner,
      ],
    };
  }
}
