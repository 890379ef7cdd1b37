/**
 * Kafka topic names (ARCHITECTURE.md §5), before the deployment's prefix. Services never use
 * these directly: they take `topicNames(KAFKA_PREFIX)` from their config (ServiceConfig.topics),
 * so two deployments (or a test run next to `npm start`) on one broker never share a topic.
 */
export const TOPICS = {
  usage: 'paygate.usage.v1',
  usageDeadLetter: 'paygate.usage.v1.dlq',
  usageRecorded: 'paygate.usage-recorded.v1',
  entitlementChanged: 'paygate.entitlement-changed.v1',
} as const;

export type Topics = { readonly [K in keyof typeof TOPICS]: string };

/**
 * A deployment's prefix of topics, consumer groups and transactional ids: Kafka's legal name
 * characters, short enough that every derived name stays far below Kafka's 249.
 */
export const KAFKA_PREFIX_PATTERN = /^[A-Za-z0-9._-]{0,64}$/;

/** The topics of the deployment whose names start with `prefix` ('' = the plain names). */
export function topicNames(prefix: string): Topics {
  if (!KAFKA_PREFIX_PATTERN.test(prefix)) throw new Error(`invalid Kafka prefix "${prefix}"`);
  return Object.fromEntries(
    Object.entries(TOPICS).map(([key, name]) => [key, `${prefix}${name}`]),
  ) as unknown as Topics;
}

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
