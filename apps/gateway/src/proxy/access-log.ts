import { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

const OWN_ENDPOINTS = /^\/(health|ready|metrics)\b/;
const LEVELS_AT_OR_BELOW_INFO = new Set(['trace', 'debug', 'info']);

/**
 * One JSON line per proxied request ("request completed", as pino-http writes for the other
 * services) with the request id, written from Fastify's onResponse hook. The gateway does
 * without pino-http's per-request child logger on its hot path (see loggerModule); below
 * LOG_LEVEL info nothing is built at all.
 */
export function registerAccessLog(fastify: FastifyInstance, level: string): void {
  if (!LEVELS_AT_OR_BELOW_INFO.has(level)) return;
  const logger = new Logger('AccessLog');
  fastify.addHook('onResponse', (request, reply, done) => {
    if (!OWN_ENDPOINTS.test(request.url)) {
      logger.log(
        {
          requestId: request.id,
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
