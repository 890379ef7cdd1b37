import { FieldError, USAGE_EVENT_LIMITS, UsageEvent, validateUsageEvent } from '@paygate/contracts';
import type { Meter } from '../meters/meter';
import { AdmissionWindow, admissionProblem } from '../usage/event-admission';

export const MAX_EVENTS_PER_REQUEST = 1000;

export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_JSON = 'application/cloudevents-batch+json';

/** What the consumer will hold each event to: the time window and the meters of its type. */
export interface IntakeRules extends AdmissionWindow {
  metersFor: (type: string) => readonly Meter[];
}

export type IntakeResult =
  | { ok: true; events: UsageEvent[]; meterDependent: boolean }
  | {
      ok: false;
      errors: FieldError[];
      /** Whether events were refused (not the request's envelope: media type, size, count). */
      eventsRefused: boolean;
      meterDependent: boolean;
    };

/**
 * Validates an HTTP request's events as a whole: one bad event refuses the request, so a
 * caller never has to work out which half of its batch was taken. An event is bad when the
 * consumer would dead-letter it for its shape, size, time or values (the same admitEvent);
 * one of a type no meter reads is not. `meterDependent` says whether fresher meter
 * definitions could change the answer (an event of a type without meters, or one refused
 * for its values), so the caller can reload them and ask again.
 */
export function validateIntake(
  body: unknown,
  contentType: string,
  rules: IntakeRules,
): IntakeResult {
  const envelope = (message: string): IntakeResult => ({
    ok: false,
    errors: [{ field: '', message }],
    eventsRefused: false,
    meterDependent: false,
  });
  const batch = contentType === CLOUDEVENTS_BATCH_JSON || Array.isArray(body);
  if (contentType === CLOUDEVENTS_BATCH_JSON && !Array.isArray(body)) {
    return envelope(`${CLOUDEVENTS_BATCH_JSON} must be a JSON array`);
  }
  if (contentType === CLOUDEVENTS_JSON && Array.isArray(body)) {
    return envelope(`a batch needs ${CLOUDEVENTS_BATCH_JSON}`);
  }
  const items: unknown[] = batch ? (body as unknown[]) : [body];
  // An empty batch is a valid batch (CloudEvents JSON format §4): nothing to accept.
  if (items.length === 0) return { ok: true, events: [], meterDependent: false };
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    return envelope(`at most ${MAX_EVENTS_PER_REQUEST} events per request`);
  }
  const errors: FieldError[] = [];
  const events: UsageEvent[] = [];
  let meterDependent = false;
  items.forEach((item, i) => {
    const prefix = batch ? `[${i}]` : '';
    const field = (name: string) => `${prefix}${name ? (batch ? '.' : '') + name : ''}`;
    const result = validateUsageEvent(item);
    if (!result.ok) {
      for (const e of result.errors) errors.push({ field: field(e.field), message: e.message });
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
    const meters = rules.metersFor(result.event.type);
    const problem = admissionProblem(result.event, meters, rules);
    if (problem ? problem.reason === 'invalid-value' : meters.length === 0) meterDependent = true;
    if (problem) {
      for (const e of problem.errors) errors.push({ field: field(e.field), message: e.message });
      return;
    }
    events.push(result.event);
  });
  return errors.length > 0
    ? { ok: false, errors, eventsRefused: true, meterDependent }
    : { ok: true, events, meterDependent };
}
