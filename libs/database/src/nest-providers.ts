import type { InjectionToken, Provider } from '@nestjs/common';
import { READINESS_CHECKS, type ReadinessCheck } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { OutboxRelayService } from './outbox-relay';

/** Postgres answers a query. */
export function postgresReadiness(dataSource: DataSource): ReadinessCheck {
  return { name: 'postgres', check: async () => void (await dataSource.query('SELECT 1')) };
}

/**
 * The service's DataSource (connected at start) and the readiness checks: Postgres, plus
 * whatever else the service names (its consumers), resolved from the module.
 */
export function databaseProviders(
  create: () => DataSource,
  more: ExtraReadiness = { inject: [], checks: () => [] },
): Provider[] {
  return [
    { provide: DataSource, useFactory: () => create().initialize() },
    {
      provide: READINESS_CHECKS,
      inject: [DataSource, ...more.inject],
      useFactory: (dataSource: DataSource, ...deps: never[]) => [
        postgresReadiness(dataSource),
        ...more.checks(...deps),
      ],
    },
  ];
}

/** Readiness checks beyond Postgres, built from providers of the module. */
export interface ExtraReadiness {
  inject: InjectionToken[];
  // Method syntax: each service passes a function of its own provider types.
  checks(...deps: never[]): ReadinessCheck[];
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
