import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { ProblemCode } from '@paygate/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { DomainError } from './domain-error';
import { negotiateLanguage } from './language';
import { isUnreachableDependency } from './unreachable-dependency';
import {
  PROBLEM_CONTENT_TYPE,
  ProblemException,
  ProblemInput,
  buildProblem,
  problemLanguage,
} from './problem';

const STATUS_TO_CODE: Record<number, ProblemCode> = {
  [HttpStatus.BAD_REQUEST]: 'validation-failed',
  [HttpStatus.UNAUTHORIZED]: 'unauthenticated',
  [HttpStatus.FORBIDDEN]: 'forbidden',
  [HttpStatus.NOT_FOUND]: 'not-found',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'method-not-allowed',
  [HttpStatus.REQUEST_TIMEOUT]: 'request-timeout',
  [HttpStatus.URI_TOO_LONG]: 'uri-too-long',
  [HttpStatus.NOT_IMPLEMENTED]: 'not-implemented',
  431: 'request-header-fields-too-large',
  [HttpStatus.CONFLICT]: 'conflict',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'payload-too-large',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'unsupported-media-type',
  [HttpStatus.TOO_MANY_REQUESTS]: 'rate-limited',
};

/**
 * Fastify's own body errors carry a status code; map them like HttpExceptions. Only Fastify's
 * (`FST_` codes): a client library's error with a 4xx status (a payment provider refusing our
 * call) is not the caller's fault, and its text is not the caller's to read.
 */
function statusOf(exception: unknown): number | undefined {
  if (exception instanceof HttpException) return exception.getStatus();
  const { statusCode: status, code } = (exception ?? {}) as {
    statusCode?: unknown;
    code?: unknown;
  };
  const fastify = typeof code === 'string' && code.startsWith('FST_');
  return fastify && typeof status === 'number' && status >= 400 && status < 500
    ? status
    : undefined;
}

/** Nest's not-found message for a path with its query cut off (other messages as they are). */
const withoutQuery = (message: string) =>
  /^Cannot [A-Z]+ \S/.test(message) ? message.replace(/\?[^\s]*$/, '') : message;

export function toProblemInput(exception: unknown): ProblemInput | undefined {
  if (exception instanceof ProblemException) return exception.problem;
  if (exception instanceof DomainError) {
    return { code: exception.code, detail: exception.message, extensions: exception.details };
  }
  const status = statusOf(exception);
  if (status === undefined) return undefined;
  const code = STATUS_TO_CODE[status] ?? 'bad-request';
  // Client errors from the framework (bad JSON, unknown route) say what went wrong; that text
  // comes from the framework, not from our internals, so it is safe to show.
  const said =
    exception instanceof HttpException ? exception.message : (exception as Error).message;
  // Nest's "Cannot GET /path?query" for a path no route takes: the query may hold a secret
  // sent the wrong way (`?key=…`), which an answer has no need to repeat.
  const message = status === HttpStatus.NOT_FOUND ? withoutQuery(said) : said;
  // Any 400 names what to correct, also one the framework raised without a field.
  const errors =
    status === HttpStatus.BAD_REQUEST ? [{ field: 'request', messages: [message] }] : [];
  return { code, detail: message, ...(errors.length > 0 ? { extensions: { errors } } : {}) };
}

/** A request that failed on an unreachable dependency: retried by the caller a little later. */
const UNAVAILABLE: ProblemInput = {
  code: 'service-unavailable',
  headers: { 'retry-after': '5' },
};

/**
 * The one exception filter of every HTTP app: every error becomes application/problem+json
 * with the request id; a 5xx never reveals internals. A dependency that cannot be reached
 * (Postgres down or refusing connections) is a 503 with Retry-After, not a 500.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    let input = toProblemInput(exception);
    if (!input && isUnreachableDependency(exception)) {
      // An outage, not a bug: said once per request, without a stack, and answered as one.
      const { message, code } = exception as { message?: unknown; code?: unknown };
      this.logger.warn({ err: message, code, requestId: request.id }, 'dependency unreachable');
      input = UNAVAILABLE;
    } else if (!input) {
      this.logger.error({ err: exception, requestId: request.id }, 'unhandled error');
      input = { code: 'internal-error' };
    }
    sendProblem(reply, request, input);
  }
}

/** What a problem answers: the request's target, its id and the languages it accepts. */
export interface ProblemRequest {
  url: string;
  id: string | number;
  headers: IncomingHttpHeaders;
}

/** A problem's body and the headers that go with it, in the caller's language. */
function problemResponse(request: ProblemRequest, input: ProblemInput) {
  const language = problemLanguage(input, negotiateLanguage(request.headers['accept-language']));
  const body = buildProblem(input, {
    instance: request.url,
    requestId: String(request.id),
    language,
  });
  const headers = {
    ...input.headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-language': language,
    vary: 'Accept-Language',
    'x-request-id': String(request.id),
  };
  return { body, headers };
}

/**
 * Writes a problem straight to a Node response (a request no Fastify reply exists for, or one
 * the gateway streams itself), as long as nothing of the response has been written. Headers
 * set on `res` before (a payment receipt) go out with it.
 */
export function writeProblem(
  res: ServerResponse,
  request: ProblemRequest,
  input: ProblemInput,
): void {
  if (res.headersSent || res.destroyed) return;
  const { body, headers } = problemResponse(request, input);
  // A Vary set on `res` before (the gateway's CORS: Origin) still holds, with the language's.
  const vary = res.getHeader('vary');
  if (vary !== undefined) headers.vary = `${String(vary)}, ${headers.vary}`;
  const json = JSON.stringify(body);
  res.writeHead(body.status, { ...headers, 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  input: ProblemInput,
): void {
  // Already answered (or the connection is gone): nothing more can be said on it.
  if (reply.sent) return;
  const { body, headers } = problemResponse(request, input);
  void reply.status(body.status).headers(headers).send(body);
}
