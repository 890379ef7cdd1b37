import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage } from 'node:http';
import type { Options as HttpLoggerOptions } from 'pino-http';
import type { DestinationStream } from 'pino';
import { logDestination } from './log-destination';
import { counter } from './metrics';
import { REQUEST_ID_HEADER } from './request-id';

export interface LoggerOptions {
  /**
   * Bind a request-scoped logger to every request (pino-http: a child logger per request in
   * an AsyncLocalStorage, a "request completed" line). Default true. A proxy on the hot path
   * turns it off and writes its own access line: the per-request child logger and the async
   * hooks AsyncLocalStorage switches on cost it more than the rest of its own work.
   */
  requestScoped?: boolean;
  /** LOG_BUFFER_BYTES: lines gathered before a write (and flushed every second); 0 writes each. */
  bufferBytes?: number;
}

const droppedLines = counter(
  'paygate_log_lines_dropped_total',
  'Log lines dropped because standard output took nothing while 16 MiB of lines waited',
);

/** This process's standard output destination, by its LOG_BUFFER_BYTES (see serviceLogDestination). */
const destinations = new Map<number, DestinationStream>();

/**
 * Where a service's log lines go: standard output (see logDestination), one destination per
 * process. The logger and whatever writes its own lines beside it (the gateway's access line)
 * share it, so their lines are gathered into the same writes, in the order they were logged.
 */
export function serviceLogDestination(bufferBytes: number): DestinationStream {
  let destination = destinations.get(bufferBytes);
  if (!destination) {
    destination = logDestination(bufferBytes, { onDrop: () => droppedLines.inc() });
    destinations.set(bufferBytes, destination);
  }
  return destination;
}

/** Health checks and metrics scrapes: never logged, they would drown the useful lines. */
export function isUnloggedPath(url: string | undefined): boolean {
  return /^\/(health|ready|metrics)\b/.test(url ?? '');
}

/** An API key (`pg_live_` and its secret): the secret is what nothing may keep. */
const API_KEY = /pg_live_[A-Za-z0-9_-]*/gi;

/**
 * A URL (or any part of one) with every API key a caller put in it, where no route reads one,
 * cut to its prefix (`pg_live_[redacted]`), percent-encoded or not: the secret must not reach
 * a log, or a payment's stored and forwarded `resource`. A URL with `%` in it is decoded
 * first (twice at most, for a key encoded twice) when that is what shows a key. Cheap for what
 * holds no `live` and no `%` (it runs on every request).
 */
export function withoutApiKeys(url: string): string {
  let text = url;
  let decoded = url;
  for (let round = 0; round < 2 && decoded.includes('%'); round++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      break;
    }
    if (/pg_live_/i.test(decoded)) {
      text = decoded;
      break;
    }
  }
  return /live/i.test(text) ? text.replace(API_KEY, 'pg_live_[redacted]') : text;
}

/**
 * A request's URL as logs may keep it: without the query (where callers put what they should
 * not), without the signed token of a billing link, which opens that customer's billing page
 * for a day to whoever reads it, and without an API key's secret sent in the path by mistake.
 */
export function loggableUrl(url: string | undefined): string {
  return withoutApiKeys((url ?? '').split('?')[0].replace(/^\/billing\/[^/]+/, '/billing/[token]'));
}

/**
 * The pino options of a service's logger: JSON lines with `service`, the request id at the
 * top level, request and response reduced to what logs may keep, credentials redacted.
 */
export function pinoOptions(service: string, level: string): HttpLoggerOptions {
  return {
    level,
    base: { service },
    genReqId: (req: IncomingMessage) => String(req.headers[REQUEST_ID_HEADER] ?? ''),
    // The request id on every line a request logs, at the top level for easy filtering.
    customProps: (req: IncomingMessage) => ({ requestId: req.headers[REQUEST_ID_HEADER] }),
    autoLogging: {
      ignore: (req: IncomingMessage) => isUnloggedPath(req.url),
    },
    serializers: {
      req: (req: { method: string; url: string }) => ({
        method: req.method,
        url: loggableUrl(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
  };
}

/**
 * Structured JSON logs (pino) with the request id on every line of a request.
 * Health and metrics scrapes are not logged: they would drown the useful lines.
 */
export function loggerModule(service: string, level: string, options: LoggerOptions = {}) {
  return LoggerModule.forRoot({
    // No routes: the middleware (and its AsyncLocalStorage) never runs; the root logger stays.
    ...(options.requestScoped === false ? { forRoutes: [] } : {}),
    pinoHttp: [pinoOptions(service, level), serviceLogDestination(options.bufferBytes ?? 0)],
  });
}
