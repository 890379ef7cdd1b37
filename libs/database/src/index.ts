export { createServiceDataSource, migrate } from './data-source';
export type { ServiceDataSourceOptions } from './data-source';
export { outboxTableSql, enqueueOutbox } from './outbox';
export type { OutboxMessage } from './outbox';
export { OutboxRelay, OutboxRelayService } from './outbox-relay';
export type { OutboxPublisher } from './outbox-relay';
export { bigintToNumber, toSafeInt } from './columns';
export { idempotencyTableSql, PgIdempotencyStore } from './idempotency-store';
