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
 * header) as strict UTF-8. A header whose value is null (Java's `new RecordHeader(name, null)`,
 * librdkafka's NULL value) is absent, as it is to those clients' readers, not the text "null":
 * a null ce_id would otherwise give every such event the same dedupe key. Of a repeated header,
 * the first value that is not null counts.
 */
export function headersOf(raw: Record<string, unknown> | undefined): DecodedHeaders {
  const entries: [string, string][] = [];
  const undecodable: string[] = [];
  for (const [name, value] of Object.entries(raw ?? {})) {
    const first: unknown = Array.isArray(value)
      ? value.find((v) => v !== null && v !== undefined)
      : value;
    if (first === null || first === undefined) continue;
    if (Buffer.isBuffer(first)) {
      try {
        entries.push([name, UTF8.decode(first)]);
      } catch {
        entries.push([name, first.toString('utf8')]);
        undecodable.push(name);
      }
    } else {
      entries.push([name, String(first)]);
    }
  }
  // Object.fromEntries defines each name, so a header named __proto__ is kept as one (an
  // assignment would go to the prototype setter, which drops a string).
  return { headers: Object.fromEntries(entries), undecodable };
}
