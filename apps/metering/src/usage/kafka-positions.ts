import type { InboundMessage } from '@paygate/messaging';

/**
 * The Kafka identity of each message (topic, partition, offset, timestamp) as four column
 * arrays, for the unnest of tables keyed by it (held events, dead letters).
 */
export function kafkaPositions(
  messages: InboundMessage[],
): [string[], number[], string[], string[]] {
  return [
    messages.map((m) => m.topic),
    messages.map((m) => m.partition),
    messages.map((m) => m.offset),
    messages.map((m) => m.timestamp),
  ];
}
