import type { UsageEvent } from '@paygate/contracts';

export type Aggregation = 'sum' | 'count';

export interface Meter {
  key: string;
  eventType: string;
  aggregation: Aggregation;
  /** JSON path into the event's data, `$.a.b` form; required for `sum`. */
  valuePath: string | null;
}

export type MeterValue = { ok: true; value: number } | { ok: false; detail: string };

const PATH = /^\$((\.[A-Za-z_][A-Za-z0-9_]*)+)$/;

/** Reads `$.a.b` from the event's data (dot-separated members only). */
export function readPath(data: Record<string, unknown>, path: string): unknown {
  const match = PATH.exec(path);
  if (!match) return undefined;
  let current: unknown = data;
  for (const member of match[1].slice(1).split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[member];
  }
  return current;
}

/**
 * The amount an event adds to a meter. Amounts are whole units (they become ledger amounts),
 * so a fractional, negative or missing value is refused and the event dead-lettered.
 */
export function meterValue(meter: Meter, event: UsageEvent): MeterValue {
  if (meter.aggregation === 'count') return { ok: true, value: 1 };
  const raw = meter.valuePath ? readPath(event.data, meter.valuePath) : undefined;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) {
    return {
      ok: false,
      detail: `meter ${meter.key}: ${meter.valuePath} must be a non-negative integer`,
    };
  }
  return { ok: true, value: raw };
}
