/**
 * The CloudEvents 1.0.2 rules (spec §2 type system, §3 attributes; JSON format) that a usage
 * event's attributes are checked against, one function per rule, each naming its section.
 * Hand-written for now: moving them onto the spec's JSON schema with a kept validator, as
 * issue 20 prefers, is open there.
 */

/**
 * §2 String: "Sequence of allowable Unicode characters"; control characters (U+0000–U+001F,
 * U+007F–U+009F), lone surrogates and noncharacters (U+FDD0–U+FDEF and the last two code points
 * of every plane, U+nFFFE and U+nFFFF, as surrogate pairs past the first) are not allowable. A lone surrogate would
 * otherwise become U+FFFD on the way to Postgres, and two different ids one dedupe key.
 */
const NOT_ALLOWABLE =
  /[\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]|[\ud83f\ud87f\ud8bf\ud8ff\ud93f\ud97f\ud9bf\ud9ff\uda3f\uda7f\udabf\udaff\udb3f\udb7f\udbbf\udbff][\udffe\udfff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function allowableString(value: string): boolean {
  return !NOT_ALLOWABLE.test(value);
}

/**
 * §2 URI-reference (RFC 3986 §4.1): only the characters RFC 3986 allows, every `%` followed by
 * two hex digits. (A structural parse adds nothing a receiver needs: any such string is a
 * relative reference at least.)
 */
const URI_CHARS = /^([A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;

export function isUriReference(value: string): boolean {
  return URI_CHARS.test(value);
}

/** §2 URI: absolute (RFC 3986 §4.3): a scheme, then ":" and the rest. */
export function isAbsoluteUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) && URI_CHARS.test(value);
}

/**
 * §3.1.1 datacontenttype (RFC 2046 media type, parameters allowed, case-insensitive): paygate
 * reads `data` as JSON, so JSON types only: application/json or any `+json` suffix type.
 */
export function isJsonMediaType(value: string): boolean {
  const type = value.split(';')[0].trim().toLowerCase();
  return (
    /^application\/json$/.test(type) || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type)
  );
}

/** §3.3 extension attribute names: lowercase ASCII letters and digits (20 is a SHOULD NOT). */
export const EXTENSION_NAME = /^[a-z0-9]+$/;
/** paygate's own bound on a name's length (the spec has none). */
export const MAX_EXTENSION_NAME = 64;

/**
 * §2 types an extension value can have in the JSON format: String, Boolean, Integer (a JSON
 * number that is a whole number within 32-bit signed range) or, as strings, the others.
 */
export function validExtensionValue(value: unknown): boolean {
  if (typeof value === 'string') return allowableString(value);
  if (typeof value === 'boolean') return true;
  return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * §2 Timestamp (RFC 3339 date-time) as epoch milliseconds, or undefined when it is not one: a
 * real calendar date (2026-11-31 is not one, though Date.parse makes it December 1st), hours to
 * 23, minutes to 59, seconds to 60. A leap second (:60) counts as the last millisecond of its
 * minute, so it stays in the minute, hour and day it names.
 */
export function timestampMs(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const leap = second === 60;
  const ms = Date.parse(leap ? value.replace(/:60(\.\d+)?/, ':59.999') : value);
  return Number.isNaN(ms) ? undefined : ms;
}
