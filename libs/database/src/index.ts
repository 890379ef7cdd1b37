export { deleteBatch } from './batch-delete';
export type { BatchDelete } from './batch-delete';
export { createServiceDataSource, migrate } from './data-source';
export type { ServiceDataSourceOptions } from './data-source';
export {
  dropOutboxNotifySql,
  enqueueOutbox,
  outboxChannel,
  outboxNotifySql,
  outboxTableSql,
} from './outbox';
export type { OutboxMessage } from './outbox';
export {
  DEFAULT_OUTBOX_RELAY_OPTIONS,
  OutboxRelay,
  OutboxRelayService,
  listenerConnection,
} from './outbox-relay';
export type { OutboxPublisher, OutboxRelayOptions } from './outbox-relay';
export { ChannelListener } from './channel-listener';
export type { ChannelListenerHandlers } from './channel-listener';
export { MAX_EXACT_INT, bigintToNumber, toBigInt, toExactInt, toSafeInt } from './columns';
export type { ExactInt } from './columns';
export { idempotencyTableSql, PgIdempotencyStore } from './idempotency-store';
export {
  databaseProviders,
  outboxReadiness,
  outboxRelayProvider,
  postgresReadiness,
} from './nest-providers';
export { oldestUnpublishedAge, watchDatabase } from './database-metrics';
export { isolatable, violatesUnique } from './failure-kind';
export { schemaTables } from './tables';
export { preparedQuery } from './prepared-query';
