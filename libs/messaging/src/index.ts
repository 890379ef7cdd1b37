export { createKafka, deleteTopics, ensureTopics, startGroupAtEnd } from './kafka';
export type { TopicSpec } from './kafka';
export { MessageProducer } from './producer';
export type { OutboundMessage } from './producer';
export { BatchConsumer } from './batch-consumer';
export { transactionalIdOf } from './partition-transactions';
export type { InboundMessage, BatchHandler, BatchConsumerOptions } from './batch-consumer';
export { DEFAULT_MAX_CHUNK_BYTES, OutboundTooLargeError, outboundSize } from './outbound-chunks';
