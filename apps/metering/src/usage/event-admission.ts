import type { FieldError, UsageEvent } from '@paygate/contracts';
import { timestampMs } from '@paygate/contracts';
import { Meter, MeterReading, meterValue } from '../meters/meter';

/** The time window an event must fall in; ClassifyOptions and the HTTP intake both carry it. */
export interface AdmissionWindow {
  nowMs: number;
  /** Events whose time is older than now minus this are refused as `late`. */
  lateWindowMs: number;
  /** Events whose time is later than now plus this are refused as `invalid`. */
  futureSkewMs: number;
}

export type AdmissionReason = 'late' | 'invalid' | 'invalid-value';

export interface AdmissionProblem {
  /** The dead-letter reason the consumer records. */
  reason: AdmissionReason;
  /** The dead letter's detail. */
  detail: string;
  /** Each failing field of the event (`time`, `data.tokens`) and what is wrong with it. */
  errors: FieldError[];
}

export type Admission =
  { ok: true; timeMs: number; readings: MeterReading[] } | ({ ok: false } & AdmissionProblem);

/** `$.a.b` (a meter's value path) as the event field it reads, `data.a.b`. */
const dataField = (path: string | null) => (path ? `data${path.slice(1)}` : 'data');

/**
 * Whether a shape-valid event may be metered: its time within the window (exactly at either
 * edge is in), and every meter of its type able to read its value. The one rule of the HTTP
 * intake (which refuses up front) and of the consumer (which dead-letters), so the two never
 * disagree. With no meters only the time is checked: an event of a type no meter reads is not
 * refused here. Pure: the caller gives the clock and the meters.
 */
export function admitEvent(
  event: UsageEvent,
  meters: readonly Meter[],
  window: AdmissionWindow,
): Admission {
  // Valid by now (validateUsageEvent); a leap second counts in the minute it names.
  const timeMs = timestampMs(event.time) ?? Date.parse(event.time);
  if (timeMs < window.nowMs - window.lateWindowMs) {
    const detail = `time ${event.time} is older than the late-event window of ${window.lateWindowMs / 3_600_000} h`;
    return { ok: false, reason: 'late', detail, errors: [{ field: 'time', message: detail }] };
  }
  if (timeMs > window.nowMs + window.futureSkewMs) {
    const message = `${event.time} is more than ${window.futureSkewMs / 1000} s in the future`;
    return {
      ok: false,
      reason: 'invalid',
      detail: `time: ${message}`,
      errors: [{ field: 'time', message: `time ${message}` }],
    };
  }
  const readings: MeterReading[] = [];
  const errors: FieldError[] = [];
  for (const meter of meters) {
    const v = meterValue(meter, event);
    if (v.ok) readings.push(v.reading);
    else errors.push({ field: dataField(meter.valuePath), message: v.detail });
  }
  if (errors.length > 0) {
    return {
      ok: false,
      reason: 'invalid-value',
      detail: errors.map((e) => e.message).join('; '),
      errors,
    };
  }
  return { ok: true, timeMs, readings };
}

/** admitEvent's refusal, or undefined when the event is admitted. */
export function admissionProblem(
  event: UsageEvent,
  meters: readonly Meter[],
  window: AdmissionWindow,
): AdmissionProblem | undefined {
  const admission = admitEvent(event, meters, window);
  if (admission.ok) return undefined;
  const { reason, detail, errors } = admission;
  return { reason, detail, errors };
}
