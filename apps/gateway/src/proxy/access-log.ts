import { isUnloggedPath, loggableUrl, serviceLogDestination } from '@paygate/observability';
import type { FastifyInstance } from 'fastify';

const LEVELS_AT_OR_BELOW_INFO = new Set(['trace', 'debug', 'info']);
/** pino's number for info. */
const INFO = 30;

/** A number as JSON has it: one that is not finite is null, as pino writes it. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** What one access log line says about a request. */
export interface AccessLogEntry {
  requestId: string;
  /** The lease a proxied request was admitted from, '' if none. */
  leaseId: string;
  method: string;
  url: string;
  statusCode: number;
  ms: number;
}

/** Where access lines go: the service's log destination (a test hands in its own). */
export interface LineSink {
  write(line: string): unknown;
}

/**
 * One JSON line per request ("request completed", as pino-http writes for the other services)
 * with the request id and, for a proxied request, the lease it was admitted from: with both,
 * a request can be traced to the aggregated usage event that counted it.
 *
 * The line is built here and written to the destination the service's logger writes to (its
 * lines and these gathered into the same writes, in order), byte for byte as pino writes the
 * service's other lines (the spec holds it to that). It is written on every request at the
 * default LOG_LEVEL, and Nest's Logger, nestjs-pino and pino (whose redaction and serializers
 * look for fields this line never has) took 4–5 µs to write it against about 2 µs here
 * (docs/benchmarks.md). The gateway does without pino-http's per-request child logger on its
 * hot path too (see loggerModule).
 */
export class AccessLog {
  constructor(
    private readonly sink: LineSink,
    private readonly service = 'gateway',
  ) {}

  /** The access log at LOG_LEVEL, or undefined above info, where nothing is built at all. */
  static atLevel(level: string, bufferBytes: number): AccessLog | undefined {
    return LEVELS_AT_OR_BELOW_INFO.has(level)
      ? new AccessLog(serviceLogDestination(bufferBytes))
      : undefined;
  }

  write(entry: AccessLogEntry): void {
    this.sink.write(AccessLog.line(this.service, entry, Date.now()));
  }

  /**
   * The line, as pino would write it. Every string is escaped by JSON.stringify: the request id
   * and method are checked by the gateway, but the URL is the caller's (and keeps neither its
   * query, a billing link's token nor a key sent in the path: loggableUrl).
   */
  static line(service: string, entry: AccessLogEntry, time: number): string {
    const lease = entry.leaseId ? `,"leaseId":${JSON.stringify(entry.leaseId)}` : '';
    return (
      `{"level":${INFO},"time":${time},"service":${JSON.stringify(service)},"context":"AccessLog"` +
      `,"requestId":${JSON.stringify(entry.requestId)}${lease}` +
      `,"req":{"method":${JSON.stringify(entry.method)},"url":${JSON.stringify(loggableUrl(entry.url))}}` +
      `,"res":{"statusCode":${jsonNumber(entry.statusCode)}}` +
      `,"responseTime":${jsonNumber(Math.round(entry.ms))},"msg":"request completed"}\n`
    );
  }

  /** The same line for the requests Fastify answers (the gateway's own /_paygate/ pages). */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      if (!isUnloggedPath(request.url)) {
        this.write({
          requestId: String(request.id),
          leaseId: '',
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          ms: reply.elapsedTime,
        });
      }
      done();
    });
  }
}
