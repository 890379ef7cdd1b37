import { topicNames } from '@paygate/contracts';
import { createKafka, startGroupAtEnd } from '@paygate/messaging';

/**
 * Moves a bench's metering and entitlement consumer groups (ids before KAFKA_PREFIX) to the end
 * of the usage and usage.recorded topics before its services start. Every bench run shares
 * those topics, each bench with groups of its own: without this, one bench's services would
 * first work through what the other benches published since their last run (seen: thousands
 * of usage.recorded messages, all duplicates, counted as the pipeline's cost per request).
 */
export async function skipBacklog(
  brokers: string,
  groups: { metering: string; entitlement: string },
): Promise<void> {
  const prefix = process.env.KAFKA_PREFIX ?? '';
  const topics = topicNames(prefix);
  const kafka = createKafka('bench-skip-backlog', brokers.split(','));
  await startGroupAtEnd(kafka, `${prefix}${groups.metering}`, topics.usage);
  await startGroupAtEnd(kafka, `${prefix}${groups.entitlement}`, topics.usageRecorded);
}
