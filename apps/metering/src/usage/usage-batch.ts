import { UsageEvent, decodeUsageEvent } from '@paygate/contracts';
import type { InboundMessage } from '@paygate/messaging';
import { Meter, MeterReading, meterValue } from '../meters/meter';

export const DEAD_LETTER_REASONS = [
  'malformed-json',
  'too-large',
  'invalid',
  'unknown-meter',
  'unknown-customer',
  'invalid-value',
  'late',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface DeadLetter {
  message: InboundMessage;
  reason: DeadLetterReason;
  detail: string;
  /** For unknown-customer and unknown-meter letters: whom and what they were about. */
  subject?: string;
  eventType?: string;
}

export type HoldReason = 'unknown-meter' | 'unknown-customer';

export interface HeldEvent {
  message: InboundMessage;
  reason: HoldReason;
  eventType: string;
  subject: string;
}

export interface MeteredEvent {
  event: UsageEvent;
  /** Epoch milliseconds of event.time, parsed once. */
  timeMs: number;
  readings: MeterReading[];
}

export interface ClassifiedBatch {
  accepted: MeteredEvent[];
  deadLetters: DeadLetter[];
  /** Events kept until their meter or customer exists (the unknown-* policies "hold"). */
  held: HeldEvent[];
}

export type UnknownMeterPolicy = 'dead-letter' | 'hold';
export type UnknownCustomerPolicy = 'accept' | 'dead-letter' | 'hold';

export interface ClassifyOptions {
  metersFor: (type: string) => Meter[];
  nowMs: number;
  /** Events whose time is older than now minus this are dead-lettered as `late`. */
  lateWindowMs: number;
  /** Events whose time is later than now plus this are refused as invalid. */
  futureSkewMs: number;
  unknownMeter: UnknownMeterPolicy;
  unknownCustomer: UnknownCustomerPolicy;
  /** Whether the customer was announced; only asked when the policy is not "accept". */
  customerKnown: (subject: string) => boolean;
}

/** Validates a batch and computes each event's meter readings; pure, so it is unit-tested. */
export function classifyBatch(
  messages: InboundMessage[],
  options: ClassifyOptions,
): ClassifiedBatch {
  const accepted: MeteredEvent[] = [];
  const deadLetters: DeadLetter[] = [];
  const held: HeldEvent[] = [];
  for (const message of messages) {
    const parsed = decodeUsageEvent(message.value, message.headers);
    if (!parsed.ok) {
      const detail = parsed.errors
        .map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))
        .join('; ');
      deadLetters.push({ message, reason: parsed.reason, detail });
      continue;
    }
    const { event } = parsed;
    const timeMs = Date.parse(event.time);
    if (timeMs < options.nowMs - options.lateWindowMs) {
      deadLetters.push({
        message,
        reason: 'late',
        detail: `time ${event.time} is older than the late-event window of ${options.lateWindowMs / 3_600_000} h`,
      });
      continue;
    }
    if (timeMs > options.nowMs + options.futureSkewMs) {
      deadLetters.push({
        message,
        reason: 'invalid',
        detail: `time: ${event.time} is more than ${options.futureSkewMs / 1000} s in the future`,
      });
      continue;
    }
    if (options.unknownCustomer !== 'accept' && !options.customerKnown(event.subject)) {
      if (options.unknownCustomer === 'hold') {
        held.push({
          message,
          reason: 'unknown-customer',
          eventType: event.type,
          subject: event.subject,
        });
      } else {
        deadLetters.push({
          message,
          reason: 'unknown-customer',
          detail: `customer ${event.subject} is not known to the entitlement service`,
          subject: event.subject,
        });
      }
      continue;
    }
    const meters = options.metersFor(event.type);
    if (meters.length === 0) {
      if (options.unknownMeter === 'hold') {
        held.push({
          message,
          reason: 'unknown-meter',
          eventType: event.type,
          subject: event.subject,
        });
      } else {
        deadLetters.push({
          message,
          reason: 'unknown-meter',
          detail: `no meter reads event type ${event.type}`,
          eventType: event.type,
        });
      }
      continue;
    }
    const readings: MeterReading[] = [];
    const failures: string[] = [];
    for (const meter of meters) {
      const v = meterValue(meter, event);
      if (v.ok) readings.push(v.reading);
      else failures.push(v.detail);
    }
    if (failures.length > 0) {
      deadLetters.push({ message, reason: 'invalid-value', detail: failures.join('; ') });
      continue;
    }
    accepted.push({ event, timeMs, readings });
  }
  return { accepted, deadLetters, held };
}

export const dedupeKey = (e: UsageEvent) => `${e.source}\u0000${e.id}`;

/** Minute bucket (epoch ms) an event time falls in. */
export function bucketStart(timeMs: number): number {
  return timeMs - (((timeMs % 60_000) + 60_000) % 60_000);
}
