import { DynamicModule, Module } from '@nestjs/common';
import { ConfigError } from '@paygate/config';
import { PROBLEM_CONTENT_TYPE, buildProblem } from '@paygate/problem-details';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { Registry } from 'prom-client';

/** Where a service's admin listener (/metrics) binds: never its public port. */
export interface AdminListenerOptions {
  host: string;
  port: number;
}

/** Provided by AdminListenerModule; MetricsController needs it. */
export const ADMIN_LISTENER = Symbol('ADMIN_LISTENER');

/** The admin listener's variables, as each service's config class declares them. */
export interface AdminListenerConfig {
  HTTP_PORT: number;
  /** Default 127.0.0.1: reachable from the machine only (a sidecar or node agent scrapes). */
  ADMIN_HTTP_HOST: string;
  /** Default HTTP_PORT + 1000 (8080 → 9080, 3001 → 4001, 3002 → 4002). */
  ADMIN_HTTP_PORT?: number;
}

/** The admin listener's address from a service's config; a port clash stops the service. */
export function adminListenerOptions(config: AdminListenerConfig): AdminListenerOptions {
  const port = config.ADMIN_HTTP_PORT ?? config.HTTP_PORT + 1000;
  if (port > 65535)
    throw new ConfigError(
      `Invalid configuration:\n  ADMIN_HTTP_PORT: HTTP_PORT + 1000 (${port}) is no port; set ADMIN_HTTP_PORT`,
    );
  if (port === config.HTTP_PORT)
    throw new ConfigError(
      'Invalid configuration:\n  ADMIN_HTTP_PORT: must differ from HTTP_PORT (metrics stay off the public port)',
    );
  return { host: config.ADMIN_HTTP_HOST, port };
}

/**
 * Makes the admin listener's address available to MetricsController (global: the app's own
 * module registers the controller).
 */
@Module({})
export class AdminListenerModule {
  static forRoot(options: AdminListenerOptions): DynamicModule {
    return {
      module: AdminListenerModule,
      global: true,
      providers: [{ provide: ADMIN_LISTENER, useValue: options }],
      exports: [ADMIN_LISTENER],
    };
  }
}

/** An app module with the admin listener's address added to it (for main.ts). */
export function withAdminListener(
  app: DynamicModule,
  options: AdminListenerOptions,
): DynamicModule {
  return { ...app, imports: [...(app.imports ?? []), AdminListenerModule.forRoot(options)] };
}

const METRICS_PATH = '/metrics';

/**
 * A plain node:http server for what operators read and customers must not: `GET /metrics`
 * (Prometheus; the gateway's carries customer ids). Anything else is a 404 problem, another
 * method a 405. It is not the app's Fastify instance, so no route of the public API is
 * reachable here and nothing of this is reachable there.
 */
export class AdminServer {
  private server?: Server;

  constructor(
    private readonly options: AdminListenerOptions,
    private readonly registry: Registry,
  ) {}

  /** Resolves once listening; rejects (EADDRINUSE...) so the service does not start without. */
  start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** The bound address (port 0 picks a free one). */
  address(): { host: string; port: number } | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object'
      ? { host: address.address, port: address.port }
      : undefined;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    res.setHeader('cache-control', 'no-store');
    const path = (req.url ?? '/').split('?')[0];
    try {
      // Node's parser takes HTTP/2.0 and HTTP/0.9 request lines: not served as HTTP/1.1 (as on
      // every listener, see versionProblem in libs/http).
      if (req.httpVersionMajor !== 1) {
        res.setHeader('connection', 'close');
        return this.problem(res, 'http-version-not-supported', path, requestId);
      }
      if (path !== METRICS_PATH) return this.problem(res, 'not-found', path, requestId);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return this.problem(res, 'method-not-allowed', path, requestId);
      }
      const text = await this.registry.metrics();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    } catch {
      this.problem(res, 'internal-error', path, requestId);
    }
  }

  private problem(
    res: ServerResponse,
    code: 'not-found' | 'method-not-allowed' | 'internal-error' | 'http-version-not-supported',
    instance: string,
    requestId: string,
  ): void {
    const body = buildProblem({ code }, { instance, requestId });
    res.writeHead(body.status, { 'content-type': `${PROBLEM_CONTENT_TYPE}; charset=utf-8` });
    res.end(JSON.stringify(body));
  }
}
