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
  /** Present when the copy's value is only the first bytes of the original: "true". */
  valueCut: 'paygate-dlq-value-cut',
  /** The original value's size in bytes and SHA-256 (hex), on cut letters. */
  valueBytes: 'paygate-dlq-value-bytes',
  valueSha256: 'paygate-dlq-value-sha256',
  /** On letters whose original headers were too large to copy: their size in bytes. */
  headersCut: 'paygate-dlq-headers-cut',
} as const;
