import type { IncomingHttpHeaders } from 'node:http';

/** HTTP protocol binding §3.1.3: each context attribute as a `ce-` header. */
const PREFIX = 'ce-';

/**
 * Whether a request is in binary content mode: it carries the spec version as a header and
 * its body is not a structured event or batch (the media type decides, HTTP binding §3: a
 * structured request may carry ce- headers too).
 */
export function isBinaryMode(headers: IncomingHttpHeaders): boolean {
  const structured = /^\s*application\/cloudevents/i.test(String(headers['content-type'] ?? ''));
  return !structured && headers[`${PREFIX}specversion`] !== undefined;
}

export type BinaryEvent =
  { ok: true; event: Record<string, unknown> } | { ok: false; field: string };

/**
 * The event a binary-mode request carries (HTTP binding §3.1): its attributes from the `ce-`
 * headers (names lowercased, values percent-decoded as §3.1.3.2 says), `datacontenttype` from
 * Content-Type as sent, `data` the body (already parsed as JSON: paygate meters JSON data).
 * A value that does not percent-decode to UTF-8 names its header.
 */
export function binaryModeEvent(headers: IncomingHttpHeaders, body: unknown): BinaryEvent {
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(PREFIX) || value === undefined) continue;
    // A repeated header arrives as an array (or comma-joined): one attribute, one value.
    const raw = Array.isArray(value) ? value.join(',') : value;
    try {
      event[name.slice(PREFIX.length)] = decodeURIComponent(raw);
    } catch {
      return { ok: false, field: name };
    }
  }
  if (headers['content-type'] !== undefined) event.datacontenttype = headers['content-type'];
  event.data = body;
  return { ok: true, event };
}
