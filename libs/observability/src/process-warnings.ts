import { Logger } from '@nestjs/common';
import type { EventEmitter } from 'node:events';

/**
 * Node's process warnings (deprecations, a listener leak, a timer that overflowed) logged as
 * the service's JSON log lines instead of the plain text Node writes to stderr, which a log
 * pipeline reading one JSON object per line cannot parse: e.g. grpc-js's TLS connection to an
 * IP address (`ENTITLEMENT_GRPC_URL=127.0.0.1:…`) makes Node warn once (DEP0123). Replaces
 * Node's own printing (its 'warning' listener); returns what puts it back (for specs).
 */
export function logProcessWarnings(
  logger: Pick<Logger, 'warn'> = new Logger('Process'),
  emitter: EventEmitter = process,
): () => void {
  const before = emitter.listeners('warning') as ((...args: unknown[]) => void)[];
  emitter.removeAllListeners('warning');
  const listener = (warning: Error & { code?: string }) =>
    logger.warn({ warning: warning.name, code: warning.code }, warning.message);
  emitter.on('warning', listener);
  return () => {
    emitter.off('warning', listener);
    for (const l of before) emitter.on('warning', l);
  };
}
