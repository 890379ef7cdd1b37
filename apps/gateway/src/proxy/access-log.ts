import { Logger } from '@nestjs/common';
import { pathOf } from '@paygate/http';
import type { FastifyInstance } from 'fastify';

const OWN_ENDPOINTS = /^\/(health|ready|metrics)\b/;
const LEVELS_AT_OR_BELOW_INFO = new Set(['trace', 'debug', 'info']);

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

/**
 * One JSON line per request ("request completed", as pino-http writes for the other services)
 * with the request id and, for a proxied request, the lease it was admitted from: with both,
 * a request can be traced to the aggregated usage event that counted it. The gateway does
 * without pino-http's per-request child logger on its hot path (see loggerModule).
 */
export class AccessLog {
  private readonly logger = new Logger('AccessLog');

  /** The access log at LOG_LEVEL, or undefined above info, where nothing is built at all. */
  static atLevel(level: string): AccessLog | undefined {
    return LEVELS_AT_OR_BELOW_INFO.has(level) ? new AccessLog() : undefined;
  }

  write(entry: AccessLogEntry): void {
    this.logger.log(
      {
        requestId: entry.requestId,
        ...(entry.leaseId ? { leaseId: entry.leaseId } : {}),
        req: { method: entry.method, url: pathOf(entry.url) },
        res: { statusCode: entry.statusCode },
        responseTime: Math.round(entry.ms),
      },
      'request completed',
    );
  }

  /** The same line for the requests Fastify answers (the gateway's own /_paygate/ pages). */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      if (!OWN_ENDPOINTS.test(request.url)) {
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
