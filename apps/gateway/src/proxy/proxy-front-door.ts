import { Logger } from '@nestjs/common';
import type { FrontDoor } from '@paygate/http';
import { writeProblem } from '@paygate/problem-details';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessLog } from './access-log';
import { CALLER_LEFT } from './proxy-answers';
import type { ProxyHandler } from './proxy.handler';
import { proxyRequest } from './proxy-request';

/** Paths the gateway answers itself (through Fastify); every other path is proxied. */
const OWN_PATHS = new Set(['/health', '/ready']);
const OWN_PREFIX = '/_paygate/';

/**
 * The proxy path without the framework: every request for an upstream goes from Node's server
 * straight to the ProxyHandler, the way the bench's bare proxy does (see FrontDoor). The
 * gateway's own endpoints (/health, /ready, /_paygate/…) stay Fastify's and Nest's.
 */
export class ProxyFrontDoor implements FrontDoor {
  readonly routeLabel = '/*';
  private readonly logger = new Logger('ProxyFrontDoor');
  private proxy: ProxyHandler | undefined;

  constructor(private readonly accessLog: AccessLog | undefined) {}

  /** Opens the door once the app (and so its ProxyHandler) exists: before, it takes nothing. */
  open(proxy: ProxyHandler): void {
    this.proxy = proxy;
  }

  takes(path: string): boolean {
    return this.proxy !== undefined && !OWN_PATHS.has(path) && !path.startsWith(OWN_PREFIX);
  }

  handle(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const request = proxyRequest(req, requestId);
    const log = this.accessLog;
    if (log) {
      const started = performance.now();
      // on(): 'close' comes once (see frontDoorServer).
      res.on('close', () =>
        log.write({
          requestId,
          leaseId: request.leaseId,
          method: request.method,
          url: request.url,
          // Nothing was sent: the caller left first (499, nginx's "client closed request").
          statusCode: res.headersSent ? res.statusCode : CALLER_LEFT,
          ms: performance.now() - started,
        }),
      );
    }
    (this.proxy as ProxyHandler).handle(request, res).catch((err: unknown) => {
      // A bug, not a caller's mistake: logged with its stack, answered without it.
      this.logger.error({ err, requestId }, 'unhandled error');
      writeProblem(res, request, { code: 'internal-error' });
    });
  }
}
