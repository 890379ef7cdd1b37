/**
 * Replays dead letters: puts not-yet-replayed ones back on their original topic, once each,
 * through the metering outbox (a running metering service publishes them).
 * One reason at a time (required), at most 1,000 per run:
 *   node dist/scripts/dlq-replay.js --reason unknown-meter [--since 2026-11-25T00:00:00Z] [--limit 1000]
 *   (DATABASE_URL)
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { meteringDataSource } from '../apps/metering/src/database/metering.data-source';
import {
  DeadLettersService,
  REPLAY_MAX_LIMIT,
} from '../apps/metering/src/dead-letters/dead-letters.service';
import { DEAD_LETTER_REASONS } from '../apps/metering/src/usage/usage-batch';
import { runScript, withDatabase } from './operator-script';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      reason: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  if (!values.reason || !(DEAD_LETTER_REASONS as readonly string[]).includes(values.reason)) {
    console.error(`--reason must be one of ${DEAD_LETTER_REASONS.join(', ')}`);
    return 2;
  }
  if (values.since && Number.isNaN(Date.parse(values.since))) {
    console.error('--since must be an RFC 3339 date-time');
    return 2;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= REPLAY_MAX_LIMIT)) {
    console.error(`--limit must be an integer from 1 to ${REPLAY_MAX_LIMIT}`);
    return 2;
  }
  const reason = values.reason;
  return withDatabase(
    (url) => meteringDataSource(url, 1),
    async (dataSource) => {
      const report = await new DeadLettersService(dataSource).replayReport({
        reason,
        since: values.since,
        limit,
      });
      console.log(
        `replayed ${report.replayed} dead letter(s) of reason ${reason}; ${report.remaining} left`,
      );
      return 0;
    },
  );
}

runScript(main);
