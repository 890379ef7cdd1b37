import {
  REQUEST_SERVED_EVENT_TYPE,
  REQUEST_SERVED_SAMPLE,
  type UsageEvent,
} from '@paygate/contracts';

export const AGGREGATIONS = ['sum', 'count', 'max', 'unique_count', 'latest'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** Aggregations whose per-batch deltas add up, so they are charged through usage.recorded. */
export const ADDITIVE_AGGREGATIONS: readonly Aggregation[] = ['sum', 'count'];

export interface Meter {
  key: string;
  version: number;
  eventType: string;
  aggregation: Aggregation;
  /** JSON path into the event's data, `$.a.b` form; required for all but `count`. */
  valuePath: string | null;
  /** Group name → JSON path into data; each distinct combination is its own rollup row. */
  groupBy: Record<string, string>;
}

/**
 * What one event contributes to one meter: `amount` is the number for sum/max/latest (1 for
 * count) of each occurrence, `times` how many occurrences the event stands for (its
 * `occurrences` extension, 1 when absent), `distinct` the value counted by unique_count, and
 * `group` the canonical JSON of the event's group values. A sum adds amount × times, a count
 * counts times; max and latest see the amount (every occurrence has the same).
 */
export interface MeterReading {
  meter: Meter;
  amount: number;
  times: number;
  distinct: string | null;
  group: string;
}

export type MeterValue = { ok: true; reading: MeterReading } | { ok: false; detail: string };

export const JSON_PATH = /^\$((\.[A-Za-z_][A-Za-z0-9_]*)+)$/;

/** Reads `$.a.b` from the event's data (dot-separated members only). */
export function readPath(data: Record<string, unknown>, path: string): unknown {
  const match = JSON_PATH.exec(path);
  if (!match) return undefined;
  let current: unknown = data;
  for (const member of match[1].slice(1).split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[member];
  }
  return current;
}

/**
 * A JSON value with the members of every object in it sorted by name (recursively; arrays keep
 * their order; names that are array indices come first in numeric order, as JavaScript keeps
 * them): equal values come out as one text, whatever order their publisher wrote the members
 * in (`{"a":1,"b":2}` and `{"b":2,"a":1}` are one value in JSON).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedMembers(value));
}

function sortedMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedMembers);
  if (typeof value !== 'object' || value === null) return value;
  // fromEntries defines each member, so one named __proto__ stays a member (an assignment
  // would set the prototype instead, and the member would vanish from the JSON).
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, member]) => [name, sortedMembers(member)]),
  );
}

/**
 * Group values as canonical JSON (names sorted, values as strings, a missing one as null), so
 * the same combination always lands on the same rollup row. A value that is an object or an
 * array is its canonical JSON (canonicalJson), so the order of an object's members does not
 * split one group in two; a scalar is its string, as it always was.
 */
export function groupKey(meter: Meter, data: Record<string, unknown>): string {
  const names = Object.keys(meter.groupBy);
  if (names.length === 0) return '{}';
  names.sort();
  const group: Record<string, string | null> = {};
  for (const name of names) {
    const raw = readPath(data, meter.groupBy[name]);
    group[name] =
      raw === undefined || raw === null
        ? null
        : typeof raw === 'object'
          ? canonicalJson(raw)
          : String(raw);
  }
  return JSON.stringify(group);
}

/**
 * The bound on one event's value: 2^53 − 1, the largest integer a JSON number carries exactly
 * (a larger one has already been rounded by JSON.parse). Sums of many events go past it; the
 * usage API answers those exactly, as decimal strings.
 */
export const MAX_EVENT_VALUE = Number.MAX_SAFE_INTEGER;

/**
 * What an event adds to a meter. Amounts are whole numbers (sum and count become ledger
 * amounts; max and latest use the same integer columns), so a fractional or missing value, or
 * one past ±MAX_EVENT_VALUE, is refused (`invalid-value`) and the event dead-lettered; sum
 * additionally refuses negative amounts.
 */
export function meterValue(meter: Meter, event: UsageEvent): MeterValue {
  const times = event.occurrences ?? 1;
  // A number past 2^53 − 1 was rounded by JSON.parse: as a distinct id or a group value it
  // would merge with its neighbours (…993 and …992 read alike). Such ids go as strings.
  const rounded = (raw: unknown) => typeof raw === 'number' && Math.abs(raw) > MAX_EVENT_VALUE;
  for (const [name, path] of Object.entries(meter.groupBy)) {
    if (rounded(readPath(event.data, path)))
      return {
        ok: false,
        detail: `meter ${meter.key}: group ${name} (${path}) is a number past ${MAX_EVENT_VALUE}; send it as a string`,
      };
  }
  const reading = (amount: number, distinct: string | null = null): MeterValue => ({
    ok: true,
    reading: { meter, amount, times, distinct, group: groupKey(meter, event.data) },
  });
  if (meter.aggregation === 'count') return reading(1);
  const raw = meter.valuePath ? readPath(event.data, meter.valuePath) : undefined;
  if (meter.aggregation === 'unique_count') {
    if (typeof raw === 'string' ? raw.length === 0 : typeof raw !== 'number' || rounded(raw)) {
      return {
        ok: false,
        detail: `meter ${meter.key}: ${meter.valuePath} must be a non-empty string or a number up to ${MAX_EVENT_VALUE} (send larger ids as strings)`,
      };
    }
    return reading(1, String(raw));
  }
  const min = meter.aggregation === 'sum' ? 0 : -MAX_EVENT_VALUE;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > MAX_EVENT_VALUE) {
    const what =
      meter.aggregation === 'sum'
        ? `a non-negative integer up to ${MAX_EVENT_VALUE}`
        : `an integer from ${-MAX_EVENT_VALUE} to ${MAX_EVENT_VALUE}`;
    return { ok: false, detail: `meter ${meter.key}: ${meter.valuePath} must be ${what}` };
  }
  // One event's sum is bounded like one value, however many occurrences it stands for.
  if (meter.aggregation === 'sum' && raw * times > MAX_EVENT_VALUE) {
    return {
      ok: false,
      detail: `meter ${meter.key}: ${meter.valuePath} × occurrences must be at most ${MAX_EVENT_VALUE}`,
    };
  }
  return reading(raw);
}

/**
 * Why `meter` would refuse the gateway's own events (REQUEST_SERVED_EVENT_TYPE), if it would:
 * their data is paygate's contract (RequestServedData), so a meter that reads a field they do
 * not carry, or one of the wrong kind, is known to fail on every one of them before it is
 * made. Made anyway, it would dead-letter every served request (`invalid-value`), and with it
 * the request's billing. Undefined for every other event type, whose data metering cannot
 * know.
 */
export function servedEventsProblem(meter: Meter): string | undefined {
  if (meter.eventType !== REQUEST_SERVED_EVENT_TYPE) return undefined;
  const value = meterValue(meter, {
    specversion: '1.0',
    id: 'sample',
    source: 'paygate-gateway',
    type: REQUEST_SERVED_EVENT_TYPE,
    subject: 'sample',
    time: new Date(0).toISOString(),
    data: { ...REQUEST_SERVED_SAMPLE },
  });
  if (value.ok) return undefined;
  const fields = Object.keys(REQUEST_SERVED_SAMPLE)
    .map((f) => `$.${f}`)
    .join(', ');
  return `${value.detail} (the gateway's ${REQUEST_SERVED_EVENT_TYPE} events carry ${fields})`;
}
