import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { REQUEST_ID_HEADER, httpRequestDuration, requestIdFor } from '@paygate/observability';
import {
  ProblemDetailsFilter,
  problemValidationPipe,
  setProblemStatuses,
} from '@paygate/problem-details';
import { Logger } from 'nestjs-pino';

export interface HttpAppOptions {
  /** Largest accepted request body in bytes; larger bodies get a 413 problem. */
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
}

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
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: requestIdFor,
    // Behind a load balancer the caller's address is in X-Forwarded-For.
    trustProxy: true,
  });
  const fastify = adapter.getInstance();
  if (options.rawBodies) {
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  }
  if (options.jsonContentTypes?.length) {
    fastify.addContentTypeParser(
      options.jsonContentTypes,
      { parseAs: 'string' },
      fastify.getDefaultJsonParser('error', 'error'),
    );
  }
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
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
    bodyParser: !options.rawBodies,
    rawBody: options.rawBody ?? false,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(problemValidationPipe());
  app.enableShutdownHooks();
  return app;
}

export async function listen(
  app: INestApplication,
  port: number,
  host = '127.0.0.1',
): Promise<void> {
  await app.listen(port, host);
}

/** Starts an app's bootstrap and exits non-zero with the reason when it fails. */
export function run(bootstrap: () => Promise<unknown>): void {
  bootstrap().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
