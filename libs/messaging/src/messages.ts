/** A message to send: its topic, key, value and headers. */
export interface OutboundMessage {
  topic: string;
  key: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

/** A message as a consumer's handler receives it. */
export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /**
   * Headers whose bytes are not valid UTF-8 (their `headers` value is a lenient decoding):
   * a handler that reads such a header must refuse the message. Absent when there are none.
   */
  undecodableHeaders?: string[];
  timestamp: string;
}
