/**
 * Whether an error says a dependency (Postgres above all) could not be reached or went away,
 * rather than that the request or paygate's code was wrong: the service cannot answer now,
 * and will by itself once the dependency is back (its /ready says so meanwhile). Such a
 * request is a 503 with Retry-After, which clients and load balancers retry, not a 500.
 * Read from the error's shape (node-postgres's errors, TypeORM's QueryFailedError around them,
 * Node's socket errors), so that this library needs neither driver.
 */
export function isUnreachableDependency(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof code === 'string') {
      if (SOCKET_CODES.has(code)) return true;
      // SQLSTATE class 08, connection exception, but for 08P01 (a protocol violation, such as
      // a statement with more than 65,535 parameters: a bug); 57P01–57P03, the server shutting
      // down or starting; 53300, too many connections; 57014, a statement past its deadline
      // (DATABASE_QUERY_TIMEOUT_MS: a database too slow to answer now); 25006, a read-only
      // transaction (a failed-over primary come back as a standby).
      if (/^08[0-9A-Z]{3}$/.test(code) && code !== '08P01') return true;
      if (/^57(P0[1-3]|014)$/.test(code) || code === '53300' || code === '25006') return true;
      // A database that takes no connections (ALLOW_CONNECTIONS false, being dropped): read
      // from the server's message, in English unless lc_messages says otherwise.
      if (code === '55000' && /not currently accepting connections/.test(text)) return true;
    }
    if (PG_CONNECTION_MESSAGES.some((m) => text.startsWith(m))) return true;
    e =
      (e as { driverError?: unknown; cause?: unknown }).driverError ??
      (e as { cause?: unknown }).cause;
  }
  return false;
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // libs/database's DeadlineClient: a connection closed for not answering in time.
  'PAYGATE_QUERY_DEADLINE',
]);

/** node-postgres's own words for a connection that failed or was lost, and its pool's. */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
];
