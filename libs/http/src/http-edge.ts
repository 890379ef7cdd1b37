import { Logger } from '@nestjs/common';
import {
  PROBLEM_CONTENT_TYPE,
  ProblemInput,
  buildProblem,
  problemStatus,
  sendProblem,
  writeProblem,
} from '@paygate/problem-details';
import { REQUEST_ID_HEADER, requestIdFor } from '@paygate/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  STATUS_CODES,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { INPUT_LIMITS, SUPPORTED_METHODS } from './input-limits';

const logger = new Logger('HttpEdge');

/** A `%` not followed by two hex digits. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** RFC 9110 token, the shape of a method name. */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The first line of a raw packet (what was received of the request line). */
function requestLineOf(packet: Buffer | undefined): string {
  if (!packet) return '';
  const end = packet.indexOf(0x0a);
  return packet.subarray(0, end < 0 ? packet.length : end).toString('latin1');
}

/** `METHOD SP target SP HTTP/x.y`: a well-formed request line whatever its method. */
function isWellFormedRequestLine(line: string): boolean {
  const parts = line.replace(/\r$/, '').split(' ');
  return parts.length === 3 && METHOD_TOKEN.test(parts[0]) && /^HTTP\/\d\.\d$/.test(parts[2] ?? '');
}

/** A 400 for a malformed request: like any bad input, it names what to correct in `errors`. */
function badRequest(detail: string, field: string, message: string): ProblemInput {
  return { code: 'bad-request', detail, extensions: { errors: [{ field, messages: [message] }] } };
}

/** The problem for an error of Node's HTTP parser (llhttp) or its timeouts. */
export function clientErrorProblem(
  err: NodeJS.ErrnoException & { rawPacket?: Buffer },
): ProblemInput {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'request-timeout' };
    case 'HPE_HEADER_OVERFLOW': {
      const line = requestLineOf(err.rawPacket);
      // A packet whose first line alone is over the URL limit: the target is too long.
      return line.length > INPUT_LIMITS.urlLength
        ? { code: 'uri-too-long', extensions: { limit: INPUT_LIMITS.urlLength } }
        : {
            code: 'request-header-fields-too-large',
            extensions: { limit: INPUT_LIMITS.headerBytes },
          };
    }
    // A version Node's parser does not take (`HTTP/3.0`, `HTTP/1.2`), or HTTP/2's connection
    // preface (`PRI * HTTP/2.0`, a client speaking HTTP/2 with prior knowledge): the request
    // is well formed but for its version, which is what to say (see versionProblem). The
    // parser says the same of `HTTP/1.1` ended by a bare LF: that is a malformed line.
    case 'HPE_INVALID_VERSION':
    case 'HPE_PAUSED_H2_UPGRADE': {
      const line = requestLineOf(err.rawPacket).replace(/\r$/, '');
      const version = line.slice(line.lastIndexOf(' ') + 1);
      return isWellFormedRequestLine(line) && !/^HTTP\/1\.[01]$/.test(version)
        ? unsupportedVersion(version)
        : badRequest(
            'The request line is malformed.',
            'requestLine',
            'must be METHOD target HTTP/x.y',
          );
    }
    case 'HPE_INVALID_METHOD':
      return isWellFormedRequestLine(requestLineOf(err.rawPacket))
        ? { code: 'not-implemented' }
        : badRequest(
            'The request line is malformed.',
            'requestLine',
            'must be METHOD target HTTP/x.y',
          );
    default:
      return badRequest(
        'The request line or a header is malformed.',
        'request',
        'must have a well-formed request line and headers',
      );
  }
}

/** A complete problem response as bytes, for a socket no Fastify reply exists for. */
export function rawProblemResponse(input: ProblemInput, requestId: string = randomUUID()): string {
  const body = JSON.stringify(buildProblem(input, { instance: '', requestId }), (key, v) =>
    key === 'instance' ? undefined : (v as unknown),
  );
  const status = problemStatus(input.code);
  const headers: Record<string, string> = {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(body)),
    'Content-Language': 'en',
    'X-Request-Id': requestId,
    'Cache-Control': 'no-store',
    ...input.headers,
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes a problem to a socket and closes it: the connection cannot be trusted any more. */
function answerAndClose(socket: Duplex, input: ProblemInput, requestId?: string): void {
  if (socket.destroyed) return;
  // Node's own handler answers only while no response is under way on the socket.
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const closer = setTimeout(() => socket.destroy(), 5_000);
  closer.unref();
  socket.end(rawProblemResponse(input, requestId), () => {
    clearTimeout(closer);
    socket.destroy();
  });
}

/** Whether a request announces a body (a length above 0, or chunks). */
const announcesBody = (headers: IncomingHttpHeaders): boolean =>
  headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;

/** Whether a request announced a body that has not all been read. */
export const unreadBody = (raw: IncomingMessage): boolean =>
  !raw.complete && announcesBody(raw.headers);

/**
 * Bounds how long a request's body may take to arrive: Node's `requestTimeout` stops counting
 * once the headers are in and the request is handed on, so a caller that sends its headers and
 * then a few bytes a minute (or none) would hold the connection, and a file descriptor, for as
 * long as it likes. After `ms` without the whole body, the request is answered 408 and the
 * connection closed (the rest of the body would not be framed to anyone). The reply is taken
 * over first, so Fastify, whose body reader then fails, sends nothing more.
 */
export function bodyDeadline(request: FastifyRequest, reply: FastifyReply, ms: number): void {
  const raw = request.raw;
  if (!unreadBody(raw)) return;
  const timer = setTimeout(() => {
    if (raw.complete || reply.sent || !raw.socket) return;
    reply.hijack();
    logger.debug({ requestId: request.id, ms }, 'request body not received in time');
    answerAndClose(raw.socket, { code: 'request-timeout' }, request.id);
  }, ms);
  timer.unref();
  const clear = () => clearTimeout(timer);
  raw.once('end', clear).once('close', clear);
}

/**
 * Fastify's `clientErrorHandler`: a request Node's parser refused (malformed request line or
 * header, bare LF, headers too large, unknown method, timeouts) is answered with a problem
 * and its own request id, then the socket is closed.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const input = clientErrorProblem(err);
  logger.debug({ err: err.message, code: err.code, answer: input.code }, 'client error');
  answerAndClose(socket, input);
}

/**
 * CONNECT (a tunnel request) is not served by any paygate surface: Node closes such a socket
 * without a word unless someone listens, so it is answered with a 501 problem and closed.
 */
export function onConnect(req: IncomingMessage, socket: Duplex): void {
  const given = req.headers['x-request-id'];
  const id =
    typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : undefined;
  answerAndClose(socket, { code: 'not-implemented' }, id);
}

/**
 * The server's `checkExpectation`: a request whose Expect is not 100-continue, the only
 * expectation HTTP defines. Node answers it with a bare 417 unless someone listens; this
 * answers the problem, in the caller's language, with the connection closed (a body sent
 * without waiting would otherwise be read as the next request).
 */
export function onExpectation(req: IncomingMessage, res: ServerResponse): void {
  const id = requestIdFor(req);
  res.setHeader(REQUEST_ID_HEADER, id);
  const request = { url: req.url ?? '/', id, headers: req.headers };
  writeProblem(res, request, { code: 'expectation-failed', headers: { connection: 'close' } });
}

const FRAMEWORK_ERRORS: Record<string, ProblemInput> = {
  FST_ERR_BAD_URL: badRequest(
    'The request path is not validly encoded.',
    'path',
    'must be validly percent-encoded',
  ),
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'uri-too-long',
    extensions: { limit: INPUT_LIMITS.urlLength },
  },
};

/** Fastify's `frameworkErrors`: router errors (bad percent-encoding, too long) as problems. */
export function onFrameworkError(
  error: Error & { code?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const problem =
    FRAMEWORK_ERRORS[error.code ?? ''] ??
    badRequest('The request is malformed.', 'request', 'must be a well-formed HTTP request');
  sendProblem(reply, request, problem);
}

/**
 * What every request must pass before routing goes further: a target no longer than the
 * limit, no NUL anywhere in it, and for a path no route takes: 501 for a method paygate does
 * not implement, 405 with Allow when other methods are routed there, else the 404 follows.
 * Returns the problem to answer with, or undefined to go on.
 */
export function edgeProblem(
  fastify: FastifyInstance,
  request: FastifyRequest,
): ProblemInput | undefined {
  const url = request.raw.url ?? '';
  const problem =
    versionProblem(request.raw) ?? headerFieldsProblem(request.raw) ?? targetProblem(url);
  if (problem) return problem;
  if (request.routeOptions.url !== undefined) return undefined;
  if (!SUPPORTED_METHODS.includes(request.method)) return { code: 'not-implemented' };
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const allowed = SUPPORTED_METHODS.filter(
    (method) => method !== request.method && fastify.findRoute({ method, url: path }) !== null,
  );
  if (allowed.length === 0) return undefined;
  return { code: 'method-not-allowed', headers: { allow: allowed.join(', ') } };
}

/** Answered with the connection closed: what follows on it cannot be trusted to be framed. */
const CLOSE = { connection: 'close' };

/**
 * A request line whose version is not HTTP/1.x: Node's parser takes `HTTP/2.0` and `HTTP/0.9`
 * and would serve them as HTTP/1.1 (other versions fail in the parser: clientErrorProblem).
 * An HTTP/2 client speaks HTTP/2 from its first bytes, never with an HTTP/1 request line, and
 * HTTP/0.9 had no version in it: whoever sends one gets 505 (RFC 9110 §15.6.6) saying what is
 * supported, with the connection closed.
 */
export function versionProblem(req: IncomingMessage): ProblemInput | undefined {
  if (req.httpVersionMajor === 1) return undefined;
  return unsupportedVersion(`HTTP/${req.httpVersionMajor}.${req.httpVersionMinor}`);
}

/** The 505 for a request in `version` (`HTTP/2.0`), the connection closed. */
function unsupportedVersion(version: string): ProblemInput {
  return { code: 'http-version-not-supported', extensions: { version }, headers: CLOSE };
}

/**
 * What Node's parser lets through but no request may have: more header fields than
 * `headerFields` (Node keeps the first `maxHeadersCount` and drops the rest without a word, an
 * API key among them), no Host in HTTP/1.1 or more than one Host (RFC 9112 §3.2: 400; Node
 * would route by the first). The servers' `maxHeadersCount` is one more than the limit, so
 * that a request over it is seen as such.
 */
export function headerFieldsProblem(req: IncomingMessage): ProblemInput | undefined {
  const raw = req.rawHeaders;
  if (raw.length > 2 * INPUT_LIMITS.headerFields)
    return {
      code: 'request-header-fields-too-large',
      detail: `A request may have at most ${INPUT_LIMITS.headerFields} header fields.`,
      extensions: { limit: INPUT_LIMITS.headerBytes, fieldLimit: INPUT_LIMITS.headerFields },
      headers: CLOSE,
    };
  let hosts = 0;
  const codings: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding')
      codings.push(raw[i + 1]);
  }
  if (hosts > 1)
    return {
      ...badRequest('More than one Host field.', 'host', 'must be sent once'),
      headers: CLOSE,
    };
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1)
    return {
      ...badRequest('An HTTP/1.1 request needs a Host field.', 'host', 'is required in HTTP/1.1'),
      headers: CLOSE,
    };
  // Node's parser takes off the chunked coding only: a body sent with another one too
  // (`gzip, chunked`) would reach a handler, or an upstream, still encoded and unlabelled.
  // RFC 9112 §6.1: a transfer coding the server does not understand is a 501.
  const coding = codings.join(', ');
  if (codings.length > 0 && coding.trim().toLowerCase() !== 'chunked')
    return {
      code: 'not-implemented',
      detail: `Transfer-Encoding ${coding.slice(0, 64)} is not supported: send the body chunked or with a Content-Length.`,
      headers: CLOSE,
    };
  return undefined;
}

/**
 * What no request target may be, whoever routes it: longer than the limit, with a NUL
 * anywhere, or with a malformed percent-encoding in its path.
 */
export function targetProblem(url: string): ProblemInput | undefined {
  if (url.length > INPUT_LIMITS.urlLength)
    return { code: 'uri-too-long', extensions: { limit: INPUT_LIMITS.urlLength } };
  if (url.includes('%00') || url.includes('\u0000'))
    return badRequest(
      'The request target must not contain NUL (%00).',
      'target',
      'must not contain NUL (%00)',
    );
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  // Not in a request target (RFC 9112 3.2): a client keeps the fragment. Node's parser lets
  // it through, and as a path character it would be routed, normalised and forwarded as one
  // (in the query, upstream parsers disagree on where the query ends).
  if (url.includes('#')) {
    const field = path.includes('#') ? 'path' : 'query';
    return badRequest(
      `The request ${field} must not contain # (a fragment stays with the client).`,
      field,
      'must not contain # (a fragment stays with the client)',
    );
  }
  if (path.includes('%') && BAD_ESCAPE.test(path))
    return badRequest(
      'The request path has a malformed percent-encoding.',
      'path',
      'must not have a malformed percent-encoding',
    );
  return undefined;
}
