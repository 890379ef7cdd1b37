import type { FieldProblem } from '@paygate/problem-details';
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

/** The most headers one refusal names. */
const MAX_ERRORS = 20;

export type BinaryEvent =
  { ok: true; event: Record<string, unknown> } | { ok: false; errors: FieldProblem[] };

/**
 * The event a binary-mode request carries (HTTP binding §3.1): its attributes from the `ce-`
 * headers (names lowercased, values percent-decoded as §3.1.3.2 says), `datacontenttype` from
 * Content-Type as sent, `data` the body (already parsed as JSON: paygate meters JSON data).
 * Read from the header lines as sent (`rawHeaders`: Node joins a repeated header's values
 * with ", "). A header given more than once (readers disagree on which value counts, as with
 * a JSON member given twice) or whose value does not percent-decode to UTF-8 is named, each
 * once, and no event is made.
 */
export function binaryModeEvent(rawHeaders: readonly string[], body: unknown): BinaryEvent {
  const values = new Map<string, string[]>();
  let contentType: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name.startsWith(PREFIX)) values.set(name, [...(values.get(name) ?? []), rawHeaders[i + 1]]);
    // Node keeps the first Content-Type; a second one is refused with the body (body-parsers).
    else if (name === 'content-type' && contentType === undefined) contentType = rawHeaders[i + 1];
  }
  const event: Record<string, unknown> = {};
  const errors: FieldProblem[] = [];
  for (const [name, [value, ...more]] of values) {
    // As many as a body's field errors (MAX_LISTED there): enough to correct, not 500 lines.
    if (errors.length >= MAX_ERRORS) break;
    if (more.length > 0) {
      errors.push({ field: name, messages: ['must be sent once'] });
      continue;
    }
    try {
      event[name.slice(PREFIX.length)] = decodeURIComponent(value);
    } catch {
      errors.push({ field: name, messages: ['must be percent-encoded UTF-8'] });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  if (contentType !== undefined) event.datacontenttype = contentType;
  event.data = body;
  return { ok: true, event };
}
