import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SERVER_OPTIONS } from './front-door';

/**
 * A second listener of an app, private, for its operator API: the public listener then answers
 * the operator's paths as it answers any path it does not have (404), so the customer-facing
 * pages of the same service (the billing page, webhooks) can be published without publishing
 * the API that changes plans, credits and keys.
 */
export interface OperatorListenerOptions {
  host: string;
  port: number;
  /**
   * Routes answered on this listener only, by the route's path as declared (`/v1/customers/:id`):
   * the route the request matched, however its URL was spelled (percent-encoded letters,
   * a query string).
   */
  isOperatorPath: (route: string) => boolean;
}

/** Requests that came in through an operator listener. */
const viaOperator = new WeakSet<IncomingMessage>();

/** The operator listener of each app that has one (closed with the app). */
const listeners = new WeakMap<INestApplication, Server>();

/**
 * Gives `app` an operator listener: keeps the operator's paths off its public listener (an
 * onRequest hook sends the requests whose route is one of them to the not-found handler unless
 * they came in through the operator listener) and closes that listener with the app. Called before the app listens (Fastify
 * takes no hooks after); `listen()` then starts the listener.
 */
export function operatorListener(
  app: NestFastifyApplication,
  options: OperatorListenerOptions,
): { listen: () => Promise<void> } {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (viaOperator.has(request.raw) || route === undefined || !options.isOperatorPath(route)) {
      done();
      return;
    }
    reply.callNotFound();
  });
  // Closed when the app closes: no new connections, requests in flight finish.
  fastify.addHook('preClose', (done) => {
    listeners.get(app)?.close(() => undefined);
    done();
  });
  return { listen: () => listenOperator(app, options) };
}

/**
 * The operator listener: a server of its own with the app's request handler and the same edge
 * handling as the public one (its listeners for client errors and CONNECT, its limits and
 * timeouts), so bad input gets the same problems there. Resolves once listening; rejects
 * (EADDRINUSE...) so the service does not start without it.
 */
async function listenOperator(
  app: NestFastifyApplication,
  options: OperatorListenerOptions,
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
    server.listen(options.port, options.host, () => {
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
