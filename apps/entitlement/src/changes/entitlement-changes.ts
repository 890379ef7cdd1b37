import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import {
  TOPICS,
  type EntitlementChangeReason,
  type EntitlementChangedEvent,
  type Topics,
} from '@paygate/contracts';
import { enqueueOutbox } from '@paygate/database';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { DATABASE_RUN_SQL } from '../database/database-run';
import { ENTITLEMENT_SCHEMA } from '../database/entitlement.data-source';

/** Nest token of the deployment's topic names in the entitlement app. */
export const ENTITLEMENT_TOPICS = Symbol('ENTITLEMENT_TOPICS');

/**
 * Announces an entitlement change through the outbox, in the transaction that made the change:
 * the event is published if and only if the change committed.
 */
@Injectable()
export class EntitlementChanges {
  private readonly topic: string;

  /** `topics`: the deployment's (EntitlementModule gives its config's, KAFKA_PREFIX applied). */
  constructor(
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ENTITLEMENT_TOPICS) topics: Topics = TOPICS,
  ) {
    this.topic = topics.entitlementChanged;
  }

  async record(
    manager: EntityManager,
    customerId: string,
    reason: EntitlementChangeReason,
    ids: Pick<EntitlementChangedEvent, 'subscriptionId' | 'apiKeyId'> = {},
  ): Promise<void> {
    // The change's own transaction (the one this outbox row commits with; an id is assigned
    // here if the change has not written yet), so a gateway can tell a decision made with the
    // change from one made before it (decidedWith).
    const [{ transactionId, databaseRun }]: { transactionId: string; databaseRun: string }[] =
      await manager.query(
        `SELECT pg_current_xact_id()::text AS "transactionId", ${DATABASE_RUN_SQL} AS "databaseRun"`,
      );
    const event: EntitlementChangedEvent = {
      id: randomUUID(),
      customerId,
      reason,
      occurredAt: this.clock.now().toISOString(),
      transactionId,
      databaseRun,
      ...ids,
    };
    await enqueueOutbox(manager, ENTITLEMENT_SCHEMA, [
      { topic: this.topic, key: customerId, value: JSON.stringify(event) },
    ]);
  }
}
