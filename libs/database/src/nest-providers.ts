import type { Provider } from '@nestjs/common';
import { READINESS_CHECKS } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { OutboxRelayService } from './outbox-relay';

/** The service's DataSource (connected at start) and the readiness check that pings it. */
export function databaseProviders(create: () => DataSource): Provider[] {
  return [
    { provide: DataSource, useFactory: () => create().initialize() },
    {
      provide: READINESS_CHECKS,
      inject: [DataSource],
      useFactory: (dataSource: DataSource) => [
        { name: 'postgres', check: async () => void (await dataSource.query('SELECT 1')) },
      ],
    },
  ];
}

/** Drains the service's outbox to Kafka for as long as the app runs. */
export function outboxRelayProvider(schema: string, clientId: string, brokers: string[]): Provider {
  return {
    provide: OutboxRelayService,
    inject: [DataSource],
    useFactory: (dataSource: DataSource) =>
      new OutboxRelayService(dataSource, schema, clientId, brokers),
  };
}
