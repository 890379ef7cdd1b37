import { canonicalCustomerId } from './customer-id';
import { repeatedMember } from './repeated-members';
import {
  EXTENSION_NAME,
  MAX_EXTENSION_NAME,
  allowableString,
  isAbsoluteUri,
  isJsonMediaType,
  isUriReference,
  timestampMs,
  validExtensionValue,
} from './cloudevents-rules';

/**
 * Usage events: CloudEvents 1.0 structured JSON on TOPICS.usage, keyed by customer.
 * `source` + `id` is the dedupe key, `subject` the customer, `time` places it in a period.
 */
export interface UsageEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype?: string;
  data: Record<string, unknown>;
  /** Extension: the lease the units were admitted from (gateway events); ≤ maxLeaseIdLength. */
  leaseid?: string;
  /** Extension: the request id of the served request (gateway events). */
  requestid?: string;
  /**
   * Extension: how many identical occurrences the event stands for (1 when absent): a `sum`
   * meter adds its value that many times, a `count` meter counts that many. The gateway
   * reports served requests this way (USAGE_AGGREGATE_MS). 1..MAX_OCCURRENCES; in binary mode
   * (a `ce_occurrences` header) the same number as a decimal string.
   */
  occurrences?: number;
}

/** The most occurrences one event stands for (a CloudEvents Integer is 32-bit). */
export const MAX_OCCURRENCES = 2_147_483_647;

/** The type the gateway publishes for each served request; its data carries `units`. */
export const REQUEST_SERVED_EVENT_TYPE = 'dev.paygate.request.served';

/**
 * The data of a REQUEST_SERVED_EVENT_TYPE event: every field the gateway sends, always. A
 * meter of that type can read only these (metering refuses one that reads another: every
 * served request would be dead-lettered, its own billing with it).
 */
export interface RequestServedData {
  /** What the request cost, in the route's feature units. */
  units: number;
  feature: string;
  /** The route's name in the gateway's routes file. */
  route: string;
  method: string;
  /** The upstream's status code. */
  status: number;
}

/** A RequestServedData with every field filled, to try a meter of the gateway's events on. */
export const REQUEST_SERVED_SAMPLE: RequestServedData = {
  units: 1,
  feature: 'requests',
  route: 'api',
  method: 'GET',
  status: 200,
};

export const USAGE_EVENT_LIMITS = {
  maxBytes: 64 * 1024,
  maxIdLength: 256,
  maxSourceLength: 1024,
  maxTypeLength: 256,
  maxSubjectLength: 256,
  /**
   * The `leaseid` extension. Leases are the entitlement service's UUIDs (36 characters); the
   * bound leaves room for other spellings while keeping what usage.recorded repeats per lease
   * small: unbounded (up to the 64 KiB event), a batch's ids made a message no broker takes.
   */
  maxLeaseIdLength: 128,
} as const;

export interface FieldError {
  field: string;
  message: string;
}

export type UsageEventParseResult =
  | { ok: true; event: UsageEvent }
  | { ok: false; reason: 'malformed-json' | 'too-large' | 'invalid'; errors: FieldError[] };

/** The attributes CloudEvents defines (§3.1, §3.2), besides paygate's two extensions. */
const CONTEXT_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
]);

function requireString(
  body: Record<string, unknown>,
  field: string,
  maxLength: number,
  errors: FieldError[],
): void {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    errors.push({ field, message: `${field} must be a non-empty string` });
  } else if (value.length > maxLength) {
    errors.push({ field, message: `${field} must be at most ${maxLength} characters` });
  } else if (!allowableString(value)) {
    errors.push({
      field,
      message: `${field} must not hold control characters, lone surrogates or noncharacters`,
    });
  }
}

/** Validates an already-parsed JSON value as a usage event. */
export function validateUsageEvent(value: unknown): UsageEventParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      reason: 'invalid',
      errors: [{ field: '', message: 'event must be a JSON object' }],
    };
  }
  const body = value as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (body.specversion !== '1.0') {
    errors.push({ field: 'specversion', message: 'specversion must be "1.0"' });
  }
  requireString(body, 'id', USAGE_EVENT_LIMITS.maxIdLength, errors);
  requireString(body, 'source', USAGE_EVENT_LIMITS.maxSourceLength, errors);
  if (typeof body.source === 'string' && body.source !== '' && !isUriReference(body.source))
    errors.push({ field: 'source', message: 'source must be a URI-reference (RFC 3986)' });
  requireString(body, 'type', USAGE_EVENT_LIMITS.maxTypeLength, errors);
  requireString(body, 'subject', USAGE_EVENT_LIMITS.maxSubjectLength, errors);
  // The subject is the customer: the entitlement service's customers are UUIDs, and usage of
  // anything else could be counted but never charged (its usage.recorded skipped as invalid).
  if (
    typeof body.subject === 'string' &&
    body.subject !== '' &&
    errors.at(-1)?.field !== 'subject'
  ) {
    const customer = canonicalCustomerId(body.subject);
    if (customer === undefined)
      errors.push({
        field: 'subject',
        message:
          'subject must be the customer id, a UUID like 7c9e6679-7425-40de-944b-e07fc1f90ae7',
      });
    else body.subject = customer;
  }
  if (typeof body.time !== 'string' || timestampMs(body.time) === undefined) {
    errors.push({
      field: 'time',
      message: 'time must be an RFC 3339 date-time with offset, on a real calendar date',
    });
  }
  // null is the JSON format's way of leaving an optional attribute unset (§3 of the format).
  if (body.datacontenttype === null) delete body.datacontenttype;
  if (
    body.datacontenttype !== undefined &&
    (typeof body.datacontenttype !== 'string' || !isJsonMediaType(body.datacontenttype))
  ) {
    errors.push({
      field: 'datacontenttype',
      message: 'datacontenttype must be a JSON media type (application/json or a +json type)',
    });
  }
  if (body.dataschema === null) delete body.dataschema;
  if (
    body.dataschema !== undefined &&
    (typeof body.dataschema !== 'string' || !isAbsoluteUri(body.dataschema))
  ) {
    errors.push({ field: 'dataschema', message: 'dataschema must be an absolute URI' });
  }
  if ('data_base64' in body) {
    errors.push({
      field: 'data_base64',
      message: 'binary data (data_base64) is not metered: data must be a JSON object',
    });
  }
  if (typeof body.data !== 'object' || body.data === null || Array.isArray(body.data)) {
    errors.push({ field: 'data', message: 'data must be a JSON object' });
  }
  if (body.occurrences !== undefined) {
    // Binary mode carries every attribute as a header string.
    const n =
      typeof body.occurrences === 'string' && /^[1-9][0-9]{0,9}$/.test(body.occurrences)
        ? Number(body.occurrences)
        : body.occurrences;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_OCCURRENCES)
      errors.push({
        field: 'occurrences',
        message: `occurrences must be an integer from 1 to ${MAX_OCCURRENCES}`,
      });
    else body.occurrences = n;
  }
  for (const name of ['leaseid', 'requestid']) {
    if (body[name] !== undefined && (typeof body[name] !== 'string' || body[name] === '')) {
      errors.push({ field: name, message: `${name} must be a non-empty string` });
    }
  }
  const leaseMax = USAGE_EVENT_LIMITS.maxLeaseIdLength;
  if (typeof body.leaseid === 'string' && body.leaseid.length > leaseMax)
    errors.push({ field: 'leaseid', message: `leaseid must be at most ${leaseMax} characters` });
  for (const key of Object.keys(body)) {
    // occurrences is paygate's own, checked above.
    if (CONTEXT_ATTRIBUTES.has(key) || key === 'data_base64' || key === 'occurrences') continue;
    if (!EXTENSION_NAME.test(key) || key.length > MAX_EXTENSION_NAME) {
      errors.push({
        field: key,
        message: `extension names must be lowercase ASCII letters and digits, at most ${MAX_EXTENSION_NAME}`,
      });
    } else if (body[key] === null) {
      delete body[key];
    } else if (!validExtensionValue(body[key])) {
      errors.push({
        field: key,
        message: 'extension values must be strings, booleans or 32-bit integers',
      });
    }
  }
  if (errors.length > 0) return { ok: false, reason: 'invalid', errors };
  return { ok: true, event: body as unknown as UsageEvent };
}

/** Kafka protocol binding, binary mode: attributes travel as `ce_` headers, data as the value. */
export const BINARY_MODE_PREFIX = 'ce_';

/**
 * Decodes a Kafka message in either CloudEvents mode: binary when it carries `ce_specversion`,
 * structured JSON otherwise. Headers are the message's headers as strings; `undecodable` names
 * those whose bytes were not valid UTF-8: the message is refused when one of them is
 * `content-type` or, in binary mode, a `ce_` attribute (a lenient U+FFFD decoding would make
 * two different ids one dedupe key).
 */
export function decodeUsageEvent(
  value: Buffer | null,
  headers: Record<string, string>,
  undecodable: readonly string[] = [],
): UsageEventParseResult {
  // Structured mode is told by its content type; such a message may carry ce_ headers too
  // (Kafka binding §3.2), which then say nothing the event does not.
  const structured = /^application\/cloudevents\+json\b/i.test(headers['content-type'] ?? '');
  const binary = !structured && headers[`${BINARY_MODE_PREFIX}specversion`] !== undefined;
  const unreadable = undecodable.filter(
    (name) => name === 'content-type' || (binary && name.startsWith(BINARY_MODE_PREFIX)),
  );
  if (unreadable.length > 0) {
    return {
      ok: false,
      reason: 'invalid',
      errors: unreadable.map((name) => ({
        field: name === 'content-type' ? 'datacontenttype' : name.slice(BINARY_MODE_PREFIX.length),
        message: `header ${name} is not valid UTF-8`,
      })),
    };
  }
  if (!binary) return parseUsageEvent(value);
  let size = value?.length ?? 0;
  const body: Record<string, unknown> = {};
  for (const [name, headerValue] of Object.entries(headers)) {
    size += name.length + headerValue.length;
    if (name.startsWith(BINARY_MODE_PREFIX))
      body[name.slice(BINARY_MODE_PREFIX.length)] = headerValue;
  }
  if (size > USAGE_EVENT_LIMITS.maxBytes) return tooLarge(size);
  const contentType = headers['content-type'];
  if (contentType !== undefined) body.datacontenttype = contentType;
  try {
    const text = value === null || value.length === 0 ? '{}' : UTF8.decode(value);
    body.data = JSON.parse(text);
    const twice = repeated(text);
    if (twice) return twice;
  } catch (err) {
    return {
      ok: false,
      reason: 'malformed-json',
      errors: [{ field: 'data', message: (err as Error).message }],
    };
  }
  return validateUsageEvent(body);
}

/** A member repeated in one object: what it means depends on the reader, so it is refused. */
export function repeated(text: string): UsageEventParseResult | undefined {
  const name = repeatedMember(text);
  if (name === undefined) return undefined;
  return {
    ok: false,
    reason: 'invalid',
    errors: [{ field: '', message: `member "${name}" appears twice in one JSON object` }],
  };
}

function tooLarge(size: number): UsageEventParseResult {
  return {
    ok: false,
    reason: 'too-large',
    errors: [
      { field: '', message: `event is ${size} bytes, limit ${USAGE_EVENT_LIMITS.maxBytes}` },
    ],
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parses raw bytes from Kafka or HTTP into a validated usage event. */
export function parseUsageEvent(raw: Buffer | string | null): UsageEventParseResult {
  if (raw === null) {
    return {
      ok: false,
      reason: 'malformed-json',
      errors: [{ field: '', message: 'empty message' }],
    };
  }
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > USAGE_EVENT_LIMITS.maxBytes) return tooLarge(size);
  let value: unknown;
  let text: string;
  try {
    // Invalid UTF-8 is refused, not decoded to U+FFFD (two different ids, one dedupe key).
    text = typeof raw === 'string' ? raw : UTF8.decode(raw);
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      reason: 'malformed-json',
      errors: [{ field: '', message: (err as Error).message }],
    };
  }
  return repeated(text) ?? validateUsageEvent(value);
}
