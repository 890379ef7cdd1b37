import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { pathOf, SERVER_OPTIONS } from './front-door';

/**
 * A second listener of an app, private, for its operator API: the public listener then answers
 * the operator's paths as it answers any path it does not have (404), so the customer-facing
 * pages of the same service (the billing page, webhooks) can be published without publishing
 * the API that changes plans, credits and keys.
 */
export interface OperatorListenerOptions {
  /** The config of an app that has one (its port unset: no operator listener). */
  config: { OPERATOR_HTTP_HOST: string; OPERATOR_HTTP_PORT?: number };
  /**
   * Routes answered on this listener only, by their path as declared (`/v1/customers/:id`),
   * or a request's decoded path where it matched no route for its method (see hiddenHere).
   */
  isOperatorPath: (route: string) => boolean;
}

/** Requests that came in through an operator listener. */
const viaOperator = new WeakSet<IncomingMessage>();

/** The operator listener of each app that has one (closed with the app). */
const listeners = new WeakMap<INestApplication, Server>();

/** Per app (its Fastify instance): whether a request is for a route hidden on its listener. */
const hiders = new WeakMap<object, (request: FastifyRequest) => boolean>();

/**
 * Whether `request` is for an operator route and came in through the public listener: the app
 * then answers it as a path it does not have (createHttpApp's onRequest hook), including
 * where it would answer 405 with the route's methods. By the route it matched, however its
 * URL was spelled; with no route for its method, by its decoded path, as the router reads it.
 */
export function hiddenHere(fastify: object, request: FastifyRequest): boolean {
  return hiders.get(fastify)?.(request) ?? false;
}

function decodedPath(url: string): string {
  const path = pathOf(url);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Gives `app` an operator listener when its config sets OPERATOR_HTTP_PORT: its operator routes
 * are hidden on the public listener (hiddenHere) and the listener is closed with the app.
 * Called before the app listens (Fastify takes no hooks after); `listen()` then starts the
 * listener. Without the port nothing changes and `listen()` does nothing: the operator API
 * stays on the public listener.
 */
export function operatorListener(
  app: NestFastifyApplication,
  options: OperatorListenerOptions,
): { listen: () => Promise<void> } {
  const port = options.config.OPERATOR_HTTP_PORT;
  if (port === undefined) return { listen: () => Promise.resolve() };
  const fastify = app.getHttpAdapter().getInstance();
  hiders.set(
    fastify,
    (request) =>
      !viaOperator.has(request.raw) &&
      options.isOperatorPath(request.routeOptions.url ?? decodedPath(request.url)),
  );
  // Closed when the app closes, after its requests in flight (the drain of run() ends those
  // that take too long), before the process exits.
  fastify.addHook('preClose', (done) => {
    const server = listeners.get(app);
    if (!server) return done();
    server.close(() => done());
    server.closeIdleConnections();
  });
  return { listen: () => listenOperator(app, options.config.OPERATOR_HTTP_HOST, port) };
}

/**
 * The operator listener: a server of its own with the app's request handler and the same edge
 * handling as the public one (its listeners for client errors and CONNECT, its limits and
 * timeouts), so bad input gets the same problems there. Resolves once listening; rejects
 * (EADDRINUSE...) so the service does not start without it.
 */
async function listenOperator(
  app: NestFastifyApplication,
  host: string,
  port: number,
): Promise<void> {
  const main = app.getHttpAdapter().getInstance().server;
  const server = createServer(SERVER_OPTIONS);
  for (const handler of main.listeners('request') as ((...args: unknown[]) => void)[])
    server.on('request', (req: IncomingMessage, res: unknown) => {
      viaOperator.add(req);
      handler(req, res);
    });
  for (const event of ['clientError', 'connect', 'checkContinue', 'checkExpectation'])
    for (const listener of main.listeners(event) as ((...args: unknown[]) => void)[])
      server.on(event, listener);
  server.maxHeadersCount = main.maxHeadersCount;
  server.keepAliveTimeout = main.keepAliveTimeout;
  server.requestTimeout = main.requestTimeout;
  server.headersTimeout = main.headersTimeout;
  server.timeout = main.timeout;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  listeners.set(app, server);
}

/** The operator listener of `app`, if it has one (run() closes its connections too). */
export function operatorListenerOf(app: INestApplication): Server | undefined {
  return listeners.get(app);
}
