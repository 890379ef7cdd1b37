/** A Kafka message's headers as strings, and which of them were not valid UTF-8. */
export interface DecodedHeaders {
  headers: Record<string, string>;
  /**
   * Names of headers whose bytes are not valid UTF-8. Their `headers` value is a lenient
   * decoding (U+FFFD for each bad sequence), kept for logs and dead letters only: a reader
   * that gives a header meaning must refuse the message instead (two different byte strings
   * would otherwise become one value).
   */
  undecodable: string[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes kafkajs message headers (Buffer, string or an array of them; the first of a repeated
 * header) as strict UTF-8.
 */
export function headersOf(raw: Record<string, unknown> | undefined): DecodedHeaders {
  const headers: Record<string, string> = {};
  const undecodable: string[] = [];
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    if (Buffer.isBuffer(first)) {
      try {
        headers[name] = UTF8.decode(first);
      } catch {
        headers[name] = first.toString('utf8');
        undecodable.push(name);
      }
    } else {
      headers[name] = String(first);
    }
  }
  return { headers, undecodable };
}
