/** Kafka topic names (ARCHITECTURE.md §5). Every producer and consumer takes them from here. */
export const TOPICS = {
  usage: 'paygate.usage.v1',
  usageDeadLetter: 'paygate.usage.v1.dlq',
  usageRecorded: 'paygate.usage-recorded.v1',
  entitlementChanged: 'paygate.entitlement-changed.v1',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Headers put on dead letters so an operator can find and replay the original. */
export const DEAD_LETTER_HEADERS = {
  reason: 'paygate-dlq-reason',
  detail: 'paygate-dlq-detail',
  topic: 'paygate-dlq-original-topic',
  partition: 'paygate-dlq-original-partition',
  offset: 'paygate-dlq-original-offset',
} as const;
