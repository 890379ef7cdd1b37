import { enqueueOutbox } from '@paygate/database';
import type { EntityManager } from 'typeorm';
import { METERING_SCHEMA } from '../database/metering.data-source';
import type { HoldReason } from '../usage/usage-batch';
import { heldEvents } from './held-events.repository';

/**
 * The lock that orders "hold an event" against "release what is held" for one meter event
 * type or one customer: without it an event held just after the release ran would stay held.
 * Transactions take these before anything else, in sorted order.
 */
export async function lockHolds(manager: EntityManager, keys: string[]): Promise<void> {
  for (const key of [...new Set(keys)].sort()) {
    await heldEvents.lock(manager, key);
  }
}

export const meterHoldKey = (eventType: string) => `hold:type:${eventType}`;
export const customerHoldKey = (customerId: string) => `hold:customer:${customerId}`;

/**
 * Sends held events back to the topic they came from, through the outbox so that the release
 * commits with what caused it. They were never claimed, so they count once.
 */
export async function releaseHeld(
  manager: EntityManager,
  reason: HoldReason,
  column: 'event_type' | 'subject',
  value: string,
): Promise<number> {
  const rows = await heldEvents.take(manager, reason, column, value);
  await enqueueOutbox(
    manager,
    METERING_SCHEMA,
    rows.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: r.headers })),
  );
  return rows.length;
}
