import type { InjectionToken, Provider } from '@nestjs/common';
import { READINESS_CHECKS, ReadinessFailure, type ReadinessCheck } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { oldestUnpublishedAge, watchDatabase } from './database-metrics';
import { OutboxRelayService } from './outbox-relay';

/** Postgres answers a query. */
export function postgresReadiness(dataSource: DataSource): ReadinessCheck {
  return { name: 'postgres', check: async () => void (await dataSource.query('SELECT 1')) };
}

/**
 * Fails while the outbox holds a message (not parked) older than `maxAgeSeconds`: the relay is
 * not getting events out (Kafka unreachable, a send that keeps failing), so the service's
 * events (entitlement.changed, usage.recorded) stand still however healthy it looks. One
 * primary-key scan from the oldest row; parked rows (refused by Kafka for what they are, see
 * OutboxRelay) are the operator's to look at, and do not hold the rest back.
 */
export function outboxReadiness(
  dataSource: DataSource,
  schema: string,
  maxAgeSeconds: number,
): ReadinessCheck {
  return {
    name: 'outbox',
    check: async () => {
      const age = await oldestUnpublishedAge(dataSource, schema);
      if (age > maxAgeSeconds)
        throw new ReadinessFailure(
          `the oldest outbox message is ${Math.round(age)} s old and not published (limit ${maxAgeSeconds} s)`,
        );
    },
  };
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
    {
      provide: DataSource,
      useFactory: async () => {
        const dataSource = await create().initialize();
        watchDatabase(dataSource, more.outbox?.schema);
        return dataSource;
      },
    },
    {
      provide: READINESS_CHECKS,
      inject: [DataSource, ...more.inject],
      useFactory: (dataSource: DataSource, ...deps: never[]) => [
        postgresReadiness(dataSource),
        ...(more.outbox
          ? [outboxReadiness(dataSource, more.outbox.schema, more.outbox.maxAgeSeconds)]
          : []),
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
  /** The service's outbox, and how old a message in it may get unpublished (outboxReadiness). */
  outbox?: { schema: string; maxAgeSeconds: number };
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
