import { UsageEvent, parseUsageEvent } from '@paygate/contracts';
import type { InboundMessage } from '@paygate/messaging';
import { Meter, meterValue } from '../meters/meter';

export type DeadLetterReason =
  'malformed-json' | 'too-large' | 'invalid' | 'unknown-meter' | 'invalid-value';

export interface DeadLetter {
  message: InboundMessage;
  reason: DeadLetterReason;
  detail: string;
}

export interface MeteredEvent {
  event: UsageEvent;
  /** Amount per meter key this event adds. */
  values: { meterKey: string; value: number }[];
}

export interface ClassifiedBatch {
  accepted: MeteredEvent[];
  deadLetters: DeadLetter[];
}

/** Validates a batch and computes each event's meter values; pure, so it is unit-tested. */
export function classifyBatch(
  messages: InboundMessage[],
  metersFor: (type: string) => Meter[],
): ClassifiedBatch {
  const accepted: MeteredEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const message of messages) {
    const parsed = parseUsageEvent(message.value);
    if (!parsed.ok) {
      const detail = parsed.errors
        .map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))
        .join('; ');
      deadLetters.push({ message, reason: parsed.reason, detail });
      continue;
    }
    const meters = metersFor(parsed.event.type);
    if (meters.length === 0) {
      deadLetters.push({
        message,
        reason: 'unknown-meter',
        detail: `no meter for event type ${parsed.event.type}`,
      });
      continue;
    }
    const values: MeteredEvent['values'] = [];
    const failures: string[] = [];
    for (const meter of meters) {
      const v = meterValue(meter, parsed.event);
      if (v.ok) values.push({ meterKey: meter.key, value: v.value });
      else failures.push(v.detail);
    }
    if (failures.length > 0) {
      deadLetters.push({ message, reason: 'invalid-value', detail: failures.join('; ') });
      continue;
    }
    accepted.push({ event: parsed.event, values });
  }
  return { accepted, deadLetters };
}

export const dedupeKey = (e: UsageEvent) => `${e.source}\u0000${e.id}`;

/** Minute bucket an event's time falls in. */
export function bucketStart(time: string): Date {
  const t = Date.parse(time);
  return new Date(t - (((t % 60_000) + 60_000) % 60_000));
}
