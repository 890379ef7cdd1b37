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
  /** Extension: the lease the units were admitted from (gateway events). */
  leaseid?: string;
  /** Extension: the request id of the served request (gateway events). */
  requestid?: string;
}

/** The type the gateway publishes for each served request; its data carries `units`. */
export const REQUEST_SERVED_EVENT_TYPE = 'dev.paygate.request.served';

export const USAGE_EVENT_LIMITS = {
  maxBytes: 64 * 1024,
  maxIdLength: 256,
  maxSourceLength: 1024,
  maxTypeLength: 256,
  maxSubjectLength: 256,
} as const;

export interface FieldError {
  field: string;
  message: string;
}

export type UsageEventParseResult =
  | { ok: true; event: UsageEvent }
  | { ok: false; reason: 'malformed-json' | 'too-large' | 'invalid'; errors: FieldError[] };

// RFC 3339 date-time: full date, 'T', time with optional fraction, and a mandatory offset.
const RFC3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

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
  requireString(body, 'type', USAGE_EVENT_LIMITS.maxTypeLength, errors);
  requireString(body, 'subject', USAGE_EVENT_LIMITS.maxSubjectLength, errors);
  if (
    typeof body.time !== 'string' ||
    !RFC3339.test(body.time) ||
    Number.isNaN(Date.parse(body.time))
  ) {
    errors.push({ field: 'time', message: 'time must be an RFC 3339 date-time with offset' });
  }
  if (body.datacontenttype !== undefined && body.datacontenttype !== 'application/json') {
    errors.push({ field: 'datacontenttype', message: 'datacontenttype must be application/json' });
  }
  if (typeof body.data !== 'object' || body.data === null || Array.isArray(body.data)) {
    errors.push({ field: 'data', message: 'data must be a JSON object' });
  }
  for (const name of ['leaseid', 'requestid']) {
    if (body[name] !== undefined && (typeof body[name] !== 'string' || body[name] === '')) {
      errors.push({ field: name, message: `${name} must be a non-empty string` });
    }
  }
  for (const key of Object.keys(body)) {
    if (!EXTENSION_NAME.test(key)) {
      errors.push({ field: key, message: 'attribute names must be lowercase letters and digits' });
    }
  }
  if (errors.length > 0) return { ok: false, reason: 'invalid', errors };
  return { ok: true, event: body as unknown as UsageEvent };
}

/** Kafka protocol binding, binary mode: attributes travel as `ce_` headers, data as the value. */
export const BINARY_MODE_PREFIX = 'ce_';

/**
 * Decodes a Kafka message in either CloudEvents mode: binary when it carries `ce_specversion`,
 * structured JSON otherwise. Headers are the message's headers as strings.
 */
export function decodeUsageEvent(
  value: Buffer | null,
  headers: Record<string, string>,
): UsageEventParseResult {
  if (headers[`${BINARY_MODE_PREFIX}specversion`] === undefined) return parseUsageEvent(value);
  let size = value?.length ?? 0;
  const body: Record<string, unknown> = {};
  for (const [name, headerValue] of Object.entries(headers)) {
    size += name.length + headerValue.length;
    if (name.startsWith(BINARY_MODE_PREFIX))
      body[name.slice(BINARY_MODE_PREFIX.length)] = headerValue;
  }
  if (size > USAGE_EVENT_LIMITS.maxBytes) return tooLarge(size);
  const contentType = headers['content-type'];
  if (contentType !== undefined) body.datacontenttype = contentType.split(';')[0].trim();
  try {
    body.data = value === null || value.length === 0 ? {} : JSON.parse(value.toString());
  } catch (err) {
    return {
      ok: false,
      reason: 'malformed-json',
      errors: [{ field: 'data', message: (err as Error).message }],
    };
  }
  return validateUsageEvent(body);
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
  try {
    value = JSON.parse(raw.toString());
  } catch (err) {
    return {
      ok: false,
      reason: 'malformed-json',
      errors: [{ field: '', message: (err as Error).message }],
    };
  }
  return validateUsageEvent(value);
}
