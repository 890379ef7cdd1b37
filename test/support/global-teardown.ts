import { createKafka, deleteTopics } from '../../libs/messaging/src/kafka';
import { testConfig } from '../../libs/testing/src/test-config';
import { GENERATED_PREFIX } from './global-setup';

/**
 * Deletes the topics of this run (every one whose name starts with the run's generated
 * prefix) and its idle consumer groups, so runs on a long-lived broker leave nothing behind.
 * A prefix given from outside (PAYGATE_TEST_KAFKA_PREFIX) is left alone: its owner keeps it.
 */
export default async function globalTeardown(): Promise<void> {
  const { kafkaBrokers, kafkaPrefix } = testConfig();
  if (!GENERATED_PREFIX.test(kafkaPrefix) || process.env.PAYGATE_TEST_KEEP_TOPICS === '1') return;
  const kafka = createKafka('paygate-test-teardown', kafkaBrokers);
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(kafkaPrefix));
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(kafkaPrefix));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
    if (topics.length > 0) await deleteTopics(kafka, topics);
  } catch (err) {
    // Cleanup only: a run whose tests passed does not fail because the broker went away.
    console.warn(`[teardown] could not delete the run's topics: ${(err as Error).message}`);
  } finally {
    await admin.disconnect();
  }
}
