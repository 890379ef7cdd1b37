import { FieldError, USAGE_EVENT_LIMITS, UsageEvent, validateUsageEvent } from '@paygate/contracts';

export const MAX_EVENTS_PER_REQUEST = 1000;

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_JSON = 'application/cloudevents-batch+json';

export type IntakeResult = { ok: true; events: UsageEvent[] } | { ok: false; errors: FieldError[] };

/**
 * Validates an HTTP request's events as a whole: one bad event refuses the request, so a
 * caller never has to work out which half of its batch was taken.
 */
export function validateIntake(body: unknown, contentType: string): IntakeResult {
  const batch = contentType === CLOUDEVENTS_BATCH_JSON || Array.isArray(body);
  if (contentType === CLOUDEVENTS_BATCH_JSON && !Array.isArray(body)) {
    return {
      ok: false,
      errors: [{ field: '', message: `${CLOUDEVENTS_BATCH_JSON} must be a JSON array` }],
    };
  }
  if (contentType === CLOUDEVENTS_JSON && Array.isArray(body)) {
    return {
      ok: false,
      errors: [{ field: '', message: `a batch needs ${CLOUDEVENTS_BATCH_JSON}` }],
    };
  }
  const items: unknown[] = batch ? (body as unknown[]) : [body];
  if (items.length === 0)
    return { ok: false, errors: [{ field: '', message: 'the batch is empty' }] };
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    return {
      ok: false,
      errors: [{ field: '', message: `at most ${MAX_EVENTS_PER_REQUEST} events per request` }],
    };
  }
  const errors: FieldError[] = [];
  const events: UsageEvent[] = [];
  items.forEach((item, i) => {
    const prefix = batch ? `[${i}]` : '';
    const result = validateUsageEvent(item);
    if (!result.ok) {
      for (const e of result.errors)
        errors.push({
          field: `${prefix}${e.field ? (batch ? '.' : '') + e.field : ''}`,
          message: e.message,
        });
      return;
    }
    const size = Buffer.byteLength(JSON.stringify(item));
    if (size > USAGE_EVENT_LIMITS.maxBytes) {
      errors.push({
        field: prefix,
        message: `event is ${size} bytes, limit ${USAGE_EVENT_LIMITS.maxBytes}`,
      });
      return;
    }
    events.push(result.event);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, events };
}
