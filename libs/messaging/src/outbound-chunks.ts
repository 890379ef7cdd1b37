import type { OutboundMessage } from './messages';

/**
 * Broker-side limit on one record batch (Kafka's `message.max.bytes`, 1,048,588 by default).
 * kafkajs puts every message of one send() for one partition into a single record batch, so a
 * send of many large messages fails as a whole ("larger than the max message size") however
 * small each message is; sends are therefore cut into chunks below this.
 */
export const DEFAULT_MAX_CHUNK_BYTES = 900 * 1024;

/** Record overhead per message beyond key, value and headers (varints, attributes, deltas). */
const RECORD_OVERHEAD_BYTES = 32;

const bytesOf = (v: Buffer | string | null | undefined): number =>
  v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

/** Bytes a message takes in a record batch, near enough to size chunks by. */
export function outboundSize(message: OutboundMessage): number {
  let n = RECORD_OVERHEAD_BYTES + bytesOf(message.key) + bytesOf(message.value);
  for (const [k, v] of Object.entries(message.headers ?? {})) n += bytesOf(k) + bytesOf(v) + 2;
  return n;
}

export class OutboundTooLargeError extends Error {
  constructor(size: number, max: number) {
    super(`an outbound message of ${size} bytes exceeds the ${max}-byte chunk limit`);
    this.name = 'OutboundTooLargeError';
  }
}

/**
 * Splits messages (in order) into chunks of at most `maxBytes`. A single message above the
 * limit is refused loudly: the handler must cut it first (as metering's dead letters do), or
 * the batch would fail on every delivery.
 */
export function chunkBySize(messages: OutboundMessage[], maxBytes: number): OutboundMessage[][] {
  const chunks: OutboundMessage[][] = [];
  let current: OutboundMessage[] = [];
  let size = 0;
  for (const m of messages) {
    const s = outboundSize(m);
    if (s > maxBytes) throw new OutboundTooLargeError(s, maxBytes);
    if (current.length > 0 && size + s > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += s;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
