import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The lease a proxied request was admitted from ('' if none): with the request id in the
     * access log, it ties each request to the aggregated usage event that counted it.
     */
    leaseId: string;
  }
}

const OWN_ENDPOINTS = /^\/(health|ready|metrics)\b/;
const LEVELS_AT_OR_BELOW_INFO = new Set(['trace', 'debug', 'info']);

/**
 * One JSON line per proxied request ("request completed", as pino-http writes for the other
 * services) with the request id, written from Fastify's onResponse hook. The gateway does
 * without pino-http's per-request child logger on its hot path (see loggerModule); below
 * LOG_LEVEL info nothing is built at all.
 */
export function registerAccessLog(fastify: FastifyInstance, level: string): void {
  // Declared up front (a fixed object shape), set by the proxy once a request is admitted.
  fastify.decorateRequest('leaseId', '');
  if (!LEVELS_AT_OR_BELOW_INFO.has(level)) return;
  const logger = new Logger('AccessLog');
  fastify.addHook('onResponse', (request, reply, done) => {
    if (!OWN_ENDPOINTS.test(request.url)) {
      logger.log(
        {
          requestId: request.id,
          ...(request.leaseId ? { leaseId: request.leaseId } : {}),
          req: { method: request.method, url: request.url.split('?')[0] },
          res: { statusCode: reply.statusCode },
          responseTime: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    }
    done();
  });
}
