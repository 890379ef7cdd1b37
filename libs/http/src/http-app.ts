import { Logger as NestLogger } from '@nestjs/common';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  REQUEST_ID_HEADER,
  httpRequestDuration,
  logProcessWarnings,
  requestIdFor,
} from '@paygate/observability';
import {
  ProblemDetailsFilter,
  problemValidationPipe,
  sendProblem,
  setProblemStatuses,
} from '@paygate/problem-details';
import { Logger } from 'nestjs-pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { registerBodyParsers } from './body-parsers';
import { FrontDoor, frontDoorServer, SERVER_OPTIONS } from './front-door';
import {
  bodyDeadline,
  edgeProblem,
  onClientError,
  onConnect,
  onExpectation,
  onFrameworkError,
  unreadBody,
} from './http-edge';
import { INPUT_LIMITS } from './input-limits';
import { NullFieldsPipe } from './null-fields.pipe';
import { hiddenHere, operatorListenerOf } from './operator-listener';

export interface HttpAppOptions {
  /** Largest accepted request body in bytes (default INPUT_LIMITS.bodyBytes); larger: 413. */
  bodyLimit?: number;
  /**
   * Leave request bodies unparsed: every content type arrives as the raw stream, so a proxy
   * can forward it without buffering.
   */
  rawBodies?: boolean;
  /** Keep a copy of parsed bodies as `request.rawBody` (for webhook signatures). */
  rawBody?: boolean;
  /** More media types parsed as JSON, like application/cloudevents+json. */
  jsonContentTypes?: string[];
  /** PROBLEM_STATUSES of the service's config (see setProblemStatuses). */
  problemStatuses?: string;
  /**
   * Path prefixes whose endpoints take HTML form posts (application/x-www-form-urlencoded);
   * elsewhere a form body is a 415. Default: the billing page's `/billing/`.
   */
  formPathPrefixes?: string[];
  /** Requests answered before Fastify (see FrontDoor): the gateway's proxy path. */
  frontDoor?: FrontDoor;
}

type FrameworkHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Creates a Nest app on Fastify with what every paygate HTTP surface shares: the request id
 * on every response, problem+json errors, strict validation, JSON logs, request metrics and
 * graceful shutdown.
 */
export async function createHttpApp(
  module: Type<unknown> | DynamicModule,
  options: HttpAppOptions = {},
): Promise<NestFastifyApplication> {
  setProblemStatuses(options.problemStatuses ?? '');
  let closing = false;
  const door = options.frontDoor;
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? INPUT_LIMITS.bodyBytes,
    genReqId: requestIdFor,
    // Behind a load balancer the caller's address is in X-Forwarded-For.
    trustProxy: true,
    // Node's parser refuses larger request lines and headers (431, or 414: see http-edge.ts).
    http: SERVER_OPTIONS,
    // Fastify's default, 0, would let a request whose headers never end hold its connection
    // for ever: Node answers it 408 (onClientError) after this, looking every second
    // (SERVER_OPTIONS). The body
    // has a deadline of its own (bodyDeadline).
    requestTimeout: INPUT_LIMITS.requestMs,
    // Requests Node's parser refuses, and the router's errors, are problems too.
    clientErrorHandler: onClientError,
    frameworkErrors: onFrameworkError,
    // A path parameter is bounded by the URL limit alone, not Fastify's default 100 characters.
    routerOptions: { maxParamLength: INPUT_LIMITS.urlLength },
    ...(door && {
      serverFactory: (handler: FrameworkHandler) => frontDoorServer(door, handler, () => closing),
    }),
  });
  const fastify = adapter.getInstance();
  fastify.server.on('connect', onConnect);
  fastify.server.on('checkExpectation', onExpectation);
  // One over the limit, so that headerFieldsProblem sees a request over it (see there).
  fastify.server.maxHeadersCount = INPUT_LIMITS.headerFields + 1;
  if (options.rawBodies) {
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  } else {
    registerBodyParsers(fastify, {
      rawBody: options.rawBody ?? false,
      jsonContentTypes: options.jsonContentTypes ?? [],
      formPathPrefixes: options.formPathPrefixes ?? ['/billing/'],
    });
  }
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    const problem = edgeProblem(fastify, request);
    // A route hidden on this listener (an operator route on the public one) is answered as a
    // path the listener does not have: not even its methods are told (405).
    const hidden = hiddenHere(fastify, request);
    const answer = hidden && problem?.code === 'method-not-allowed' ? undefined : problem;
    // A route matched: sent to the not-found handler. None did: Fastify's not-found handler
    // answers it as it answers every path without a route.
    const hide = hidden && request.routeOptions.url !== undefined;
    if (answer || hide) {
      // Answered here, the request goes no further (done is not called); a body it announced
      // is not read, so the connection closes after the answer instead of taking it in.
      if (unreadBody(request.raw)) void reply.header('connection', 'close');
      return answer ? sendProblem(reply, request, answer) : reply.callNotFound();
    }
    bodyDeadline(request, reply, INPUT_LIMITS.requestMs);
    done();
  });
  // From here on Fastify answers every request (503 on a connection it is closing).
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    httpRequestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    bufferLogs: true,
    // The parsers are registerBodyParsers' (or the raw stream's), not Nest's defaults.
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(new NullFieldsPipe(), problemValidationPipe());
  // Closed by run() on SIGTERM/SIGINT (not enableShutdownHooks: see run()).
  openApps.add(app);
  fastify.addHook('onClose', (_instance, done) => {
    openApps.delete(app);
    done();
  });
  return app;
}

/** The apps createHttpApp made in this process that are not closed yet. */
const openApps = new Set<INestApplication>();

/**
 * How long a signalled process may take to close before it exits anyway: under the 10 s a
 * container gets between SIGTERM and SIGKILL (`docker stop`, `docker compose down`).
 */
export const SHUTDOWN_DEADLINE_MS = 9_000;

/**
 * How long requests in flight may go on after the signal. Nest closes the HTTP server, which
 * waits for them, before it runs the shutdown hooks (the gateway's last usage flush and lease
 * closes); a response that streams for longer (an upstream's event stream) would otherwise
 * hold the hooks past the deadline, and the process would exit without them: its usage lost,
 * its leases held until they expire. After this the connections still open are closed, and the
 * hooks get the rest of the deadline.
 */
export const DRAIN_MS = 3_000;

export async function listen(
  app: INestApplication,
  port: number,
  host = '127.0.0.1',
): Promise<void> {
  await app.listen(port, host);
}

/**
 * Starts an app's bootstrap and exits non-zero with the reason when it fails. On SIGTERM or
 * SIGINT it closes the process's apps (Nest's close: the listener stops accepting, in-flight
 * requests finish, then the shutdown hooks flush producers, commit offsets and give leases
 * back) and exits 0; a process that has not closed after SHUTDOWN_DEADLINE_MS exits 1 with a
 * log line. The exit is explicit because what is left (idle Postgres pool clients, a signal
 * re-raised at PID 1 of a container, which the kernel ignores) would keep the process alive
 * until it is killed.
 */
export function run(bootstrap: () => Promise<unknown>): void {
  logProcessWarnings();
  const started = bootstrap().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    const logger = new NestLogger('Shutdown');
    if (stopping) {
      logger.warn({ signal }, 'second signal while shutting down; exiting now');
      process.exit(1);
    }
    stopping = true;
    const since = Date.now();
    logger.log({ signal }, 'shutting down: no new requests, in-flight ones finish');
    setTimeout(() => {
      logger.error(
        { signal, deadlineMs: SHUTDOWN_DEADLINE_MS },
        'shutdown did not finish in time; exiting anyway',
      );
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    setTimeout(() => {
      // An app still open has requests in flight (Fastify's onClose takes it out of the set
      // once they are done).
      if (openApps.size === 0) return;
      logger.warn(
        { signal, drainMs: DRAIN_MS },
        'requests still in flight: closing their connections so the shutdown hooks can run',
      );
      for (const app of openApps) {
        (app.getHttpServer() as Server).closeAllConnections();
        operatorListenerOf(app)?.closeAllConnections();
      }
    }, DRAIN_MS).unref();
    // A signal during start-up closes the apps once they are up (or the deadline exits).
    void started
      .then(() => Promise.all([...openApps].map((app) => app.close())))
      .then(
        () => {
          logger.log({ signal, ms: Date.now() - since }, 'shut down');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err: (err as Error)?.message ?? err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
