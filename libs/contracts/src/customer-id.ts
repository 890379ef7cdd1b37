/**
 * A customer id as the entitlement service writes it: a UUID in lower case with hyphens
 * (its customers' primary keys). Other spellings of the same 128 bits (upper case, as .NET
 * and SQL Server print a GUID; braces; no hyphens) name the same customer to Postgres and so
 * to the entitlement service, and a `urn:uuid:` URN (RFC 9562) names it too: a usage event's
 * subject in one of them is read as that customer in this form, so its usage is counted and
 * charged as one customer's, not under a second spelling that usage queries and balances
 * disagree on.
 */
const SPELLINGS =
  /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** The customer id a subject names in canonical form, or undefined if it names none. */
export function canonicalCustomerId(subject: string): string | undefined {
  const match = SPELLINGS.exec(subject);
  if (!match) return undefined;
  // Braces come in pairs; hyphens all or none (what Postgres's uuid input takes).
  const braced = subject.includes('{');
  if (braced !== subject.endsWith('}')) return undefined;
  const hyphens = (subject.match(/-/g) ?? []).length;
  if (hyphens !== 0 && hyphens !== 4) return undefined;
  return match.slice(1, 6).join('-').toLowerCase();
}
