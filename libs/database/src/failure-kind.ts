/**
 * Whether a failed batch should be split to find the message at fault, rather than retried
 * whole. Postgres data exceptions (class 22: out of range, bad encoding, invalid text),
 * integrity violations (23) and program limits (54: e.g. an index row too large) are caused by
 * what a message carries, and so are the JavaScript errors that mean "this value broke the
 * code"; everything else (connections, timeouts, serialization, shutdown) is infrastructure,
 * retried whole with back-off until it passes.
 */
export function isolatable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; driverError?: { code?: unknown } } | null;
  const code = String(e?.driverError?.code ?? e?.code ?? '');
  if (/^(22|23|54)/.test(code)) return true;
  return ['TypeError', 'RangeError', 'SyntaxError'].includes(String(e?.name ?? ''));
}

/**
 * Whether the statement failed on the unique index or constraint `name` (23505): a write that
 * an invariant the database keeps refused, for the caller to answer as the conflict it is.
 */
export function violatesUnique(err: unknown, name: string): boolean {
  const e = err as {
    code?: unknown;
    constraint?: unknown;
    driverError?: { code?: unknown; constraint?: unknown };
  } | null;
  const code = e?.driverError?.code ?? e?.code;
  const constraint = e?.driverError?.constraint ?? e?.constraint;
  return code === '23505' && constraint === name;
}
