import { UsageEvent, decodeUsageEvent } from '@paygate/contracts';
import type { InboundMessage } from '@paygate/messaging';
import type { Meter, MeterReading } from '../meters/meter';
import { admitEvent } from './event-admission';

export const DEAD_LETTER_REASONS = [
  'malformed-json',
  'too-large',
  'invalid',
  'unknown-meter',
  'unknown-customer',
  'invalid-value',
  'late',
  // The database refused what the event carries (found by isolating it from its batch).
  'unprocessable',
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

/** An event no meter reads (policy `skip`): counted per type, not an error. */
export interface UnmatchedEvent {
  message: InboundMessage;
  eventType: string;
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
  /** Events no meter reads, under the unknown-meter policy "skip". */
  unmatched: UnmatchedEvent[];
}

export const UNKNOWN_METER_POLICIES = ['skip', 'dead-letter', 'hold'] as const;
export type UnknownMeterPolicy = (typeof UNKNOWN_METER_POLICIES)[number];
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
  const unmatched: UnmatchedEvent[] = [];
  for (const message of messages) {
    const parsed = decodeUsageEvent(message.value, message.headers, message.undecodableHeaders);
    if (!parsed.ok) {
      const detail = parsed.errors
        .map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))
        .join('; ');
      deadLetters.push({ message, reason: parsed.reason, detail });
      continue;
    }
    const { event } = parsed;
    // The time first (no meters: nothing else checked), before whom or what it is about.
    const timing = admitEvent(event, [], options);
    if (!timing.ok) {
      deadLetters.push({ message, reason: timing.reason, detail: timing.detail });
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
      if (options.unknownMeter === 'skip') {
        unmatched.push({ message, eventType: event.type });
      } else if (options.unknownMeter === 'hold') {
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
    // The same rule as the HTTP intake's (event-admission.ts), now with the type's meters.
    const admitted = admitEvent(event, meters, options);
    if (!admitted.ok) {
      deadLetters.push({ message, reason: admitted.reason, detail: admitted.detail });
      continue;
    }
    accepted.push({ event, timeMs: admitted.timeMs, readings: admitted.readings });
  }
  return { accepted, deadLetters, held, unmatched };
}

export const dedupeKey = (e: UsageEvent) => `${e.source}\u0000${e.id}`;

/** Minute bucket (epoch ms) an event time falls in. */
export function bucketStart(timeMs: number): number {
  return timeMs - (((timeMs % 60_000) + 60_000) % 60_000);
}
