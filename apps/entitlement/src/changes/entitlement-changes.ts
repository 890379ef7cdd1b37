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
    const event: EntitlementChangedEvent = {
      id: randomUUID(),
      customerId,
      reason,
      occurredAt: this.clock.now().toISOString(),
      ...ids,
    };
    await enqueueOutbox(manager, ENTITLEMENT_SCHEMA, [
      { topic: this.topic, key: customerId, value: JSON.stringify(event) },
    ]);
  }
}
