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
    // The change's own transaction, so a gateway can tell a decision made with the change from
    // one made before it (snapshotShows); its id is assigned already, by the change's writes.
    const [{ transactionId }]: { transactionId: string }[] = await manager.query(
      'SELECT pg_current_xact_id()::text AS "transactionId"',
    );
    const event: EntitlementChangedEvent = {
      id: randomUUID(),
      customerId,
      reason,
      occurredAt: this.clock.now().toISOString(),
      transactionId,
      ...ids,
    };
    await enqueueOutbox(manager, ENTITLEMENT_SCHEMA, [
      { topic: this.topic, key: customerId, value: JSON.stringify(event) },
    ]);
  }
}
