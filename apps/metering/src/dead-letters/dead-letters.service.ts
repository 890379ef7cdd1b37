import { Inject, Injectable } from '@nestjs/common';
import { enqueueOutbox, toSafeInt } from '@paygate/database';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { METERING_SCHEMA } from '../database/metering.data-source';
import { deadLetters } from './dead-letters.repository';

export interface DeadLetterView {
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  detail: string;
  createdAt: string;
  replayedAt: string | null;
}

export interface DeadLetterFilter {
  reason?: string;
  since?: string;
  limit?: number;
}

/** How many letters one replay puts back at most, and when the request names no limit. */
export const REPLAY_MAX_LIMIT = 1_000;

/** What a replay puts back: letters of one reason, optionally since a time, at most limit. */
export interface ReplayFilter {
  reason: string;
  since?: string;
  limit?: number;
}

/** What a replay did. */
export interface ReplayReport {
  /** How many letters went back on their topic. */
  replayed: number;
  /** The filter as applied (the default limit filled in). */
  filter: { reason: string; since: string | null; limit: number };
  /** Letters the same filter still matches: more requests replay them. */
  remaining: number;
  /** Each letter replayed, by its original position. */
  letters: { topic: string; partition: number; offset: number }[];
}

/** Dead letters: why events were refused, and sending them through again once fixed. */
@Injectable()
export class DeadLettersService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async recent(filter: DeadLetterFilter): Promise<DeadLetterView[]> {
    const rows = await deadLetters.recent(
      this.dataSource,
      filter.reason ?? null,
      filter.since ?? null,
      filter.limit ?? 50,
    );
    return rows.map((r) => ({
      topic: r.topic,
      partition: r.partition,
      offset: toSafeInt(r.offset),
      reason: r.reason,
      detail: r.detail,
      createdAt: new Date(r.created_at).toISOString(),
      replayedAt: r.replayed_at ? new Date(r.replayed_at).toISOString() : null,
    }));
  }

  /** See replayReport; the number of letters put back. */
  async replay(filter: ReplayFilter): Promise<number> {
    return (await this.replayReport(filter)).replayed;
  }

  /**
   * Puts not-yet-replayed dead letters of one reason back on the topic they came from with
   * their original key, bytes and headers, through the outbox in the same transaction that
   * marks them replayed: each is replayed once. A replayed event that is still bad is
   * dead-lettered again (new offset), and one that was accepted meanwhile is dropped as a
   * duplicate. The filter is explicit (a reason; never "all" for a missing or null one) and
   * the batch bounded (REPLAY_MAX_LIMIT); the answer says which letters went and how many
   * are left.
   */
  async replayReport(filter: ReplayFilter): Promise<ReplayReport> {
    if (typeof filter.reason !== 'string' || filter.reason === '')
      throw new DomainError('validation-failed', 'A replay needs the reason of the letters.', {
        errors: [
          {
            field: 'reason',
            messages: [
              'reason must name the letters to replay (the reason they were dead-lettered for)',
            ],
          },
        ],
      });
    const limit = Math.min(filter.limit ?? REPLAY_MAX_LIMIT, REPLAY_MAX_LIMIT);
    const since = filter.since ?? null;
    return this.dataSource.transaction(async (manager) => {
      const rows = await deadLetters.markReplayed(manager, filter.reason, since, limit);
      await enqueueOutbox(
        manager,
        METERING_SCHEMA,
        rows.map((r) => ({
          topic: r.topic,
          key: r.key,
          value: r.value ?? Buffer.alloc(0),
          headers: r.headers,
        })),
      );
      const remaining = await deadLetters.replayableCount(manager, filter.reason, since);
      return {
        replayed: rows.length,
        filter: { reason: filter.reason, since, limit },
        remaining,
        letters: rows.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          offset: toSafeInt(r.offset),
        })),
      };
    });
  }
}
