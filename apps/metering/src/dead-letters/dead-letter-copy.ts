import { createHash } from 'node:crypto';
import { DEAD_LETTER_HEADERS } from '@paygate/contracts';
import { outboundSize, type OutboundMessage } from '@paygate/messaging';
import type { DeadLetter } from '../usage/usage-batch';

/** Most bytes of a letter's detail text kept (in the header and the table). */
const DETAIL_CHARS = 2000;
/** Original headers larger than this (in all) are not copied; their size is recorded instead. */
const HEADERS_BUDGET_BYTES = 16 * 1024;

/**
 * Postgres text cannot hold NUL, nor jsonb a lone surrogate; a letter (or a held event) must be
 * recordable whatever its bytes: each becomes U+FFFD.
 */
export const pgText = (s: string): string =>
  s.replace(
    /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '\uFFFD',
  );

/**
 * Headers as jsonb text. Each name and value goes through pgText first: JSON.stringify writes a
 * NUL as the escape \u0000, which jsonb refuses, and a refused insert of a letter failed its
 * whole batch again on every try, stopping the partition for good.
 */
export const pgJsonHeaders = (headers: Record<string, string>): string =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [pgText(name), pgText(value)]),
    ),
  );

export interface LetterValue {
  /** The bytes kept: the whole original value, or its first `maxBytes`. */
  value: Buffer;
  /** Set when the value was cut. */
  cut?: { bytes: number; sha256: string };
}

/** The value of a letter as kept (on the DLQ topic and in the table): whole, or cut with its size and digest. */
export function letterValue(original: Buffer | null, maxBytes: number): LetterValue {
  const value = original ?? Buffer.alloc(0);
  if (value.length <= maxBytes) return { value };
  return {
    value: value.subarray(0, maxBytes),
    cut: { bytes: value.length, sha256: createHash('sha256').update(value).digest('hex') },
  };
}

/**
 * The original headers a letter can keep as they were sent: those that were not valid UTF-8
 * are left out (their text is a lossy decoding), so a replay never carries an altered value;
 * the letter's detail names them.
 */
export function keptHeaders(message: {
  headers: Record<string, string>;
  undecodableHeaders?: string[];
}): Record<string, string> {
  const lossy = new Set(message.undecodableHeaders ?? []);
  if (lossy.size === 0) return message.headers;
  return Object.fromEntries(Object.entries(message.headers).filter(([name]) => !lossy.has(name)));
}

function headerBytes(headers: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

/**
 * The DLQ copy of a refused message: original key, bytes and headers, plus why and whence. It
 * always fits `maxBytes`: a value above `maxValueBytes` (or what room is left) is cut and its
 * size and digest recorded, and original headers past a budget are left out, so that no
 * message on the topic can make its dead letter unsendable.
 */
export function dlqMessage(
  letter: DeadLetter,
  topic: string,
  maxValueBytes: number,
  maxBytes: number,
): OutboundMessage {
  const { message } = letter;
  const own: Record<string, string> = {
    [DEAD_LETTER_HEADERS.reason]: letter.reason,
    [DEAD_LETTER_HEADERS.detail]: letter.detail.slice(0, DETAIL_CHARS),
    [DEAD_LETTER_HEADERS.topic]: message.topic,
    [DEAD_LETTER_HEADERS.partition]: String(message.partition),
    [DEAD_LETTER_HEADERS.offset]: message.offset,
  };
  const original = keptHeaders(message);
  const originalHeaderBytes = headerBytes(original);
  const headers: Record<string, string> =
    originalHeaderBytes <= HEADERS_BUDGET_BYTES
      ? { ...original, ...own }
      : { ...own, [DEAD_LETTER_HEADERS.headersCut]: String(originalHeaderBytes) };
  let key = message.key?.toString() ?? null;
  if (key && Buffer.byteLength(key) > HEADERS_BUDGET_BYTES) key = key.slice(0, 1024);
  const room = maxBytes - outboundSize({ topic, key, value: '', headers }) - 256;
  const kept = letterValue(message.value, Math.max(0, Math.min(maxValueBytes, room)));
  if (kept.cut) {
    headers[DEAD_LETTER_HEADERS.valueCut] = 'true';
    headers[DEAD_LETTER_HEADERS.valueBytes] = String(kept.cut.bytes);
    headers[DEAD_LETTER_HEADERS.valueSha256] = kept.cut.sha256;
  }
  return { topic, key, value: kept.value, headers };
}
