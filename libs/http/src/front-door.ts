import { REQUEST_ID_HEADER, httpRequestDuration, requestIdFor } from '@paygate/observability';
import { ProblemInput, writeProblem } from '@paygate/problem-details';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { headerFieldsProblem, targetProblem } from './http-edge';
import { INPUT_LIMITS, SUPPORTED_METHODS } from './input-limits';

/**
 * Requests an app answers before Fastify sees them: a proxy's hot path, where the framework's
 * per-request work (its request and reply objects, hooks, router, content-type parsing) is a
 * large share of the whole cost. The edge is kept: the request id, the target checks, 501 for
 * a method paygate does not implement, request metrics and the closing 503 are the server's
 * (frontDoorServer), the same as on Fastify's routes.
 */
export interface FrontDoor {
  /** Whether a path is the front door's; every other request goes to Fastify's routes. */
  takes(path: string): boolean;
  /**
   * Answers a request that passed the edge checks (X-Request-Id is already set on `res`). It
   * must not throw: an error is its own to answer.
   */
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): void;
  /** The `route` label of its requests in paygate_http_request_duration_seconds. */
  readonly routeLabel: string;
}

/** The path of a request target, without its query. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * Closes a pipelined request's response when the caller closes the connection before it. Node
 * answers pipelined requests in order: a response queued behind an earlier one has no socket
 * yet, and when the connection closes Node ends its request but never closes the response (no
 * 'close', `destroyed` stays false). What waits for a response's 'close' would wait for good:
 * cancelling the upstream call (its connection held while nobody reads the answer), the
 * concurrency slot, the access log line, the request metric. This closes it the way Node
 * closes the response that has the socket. Only queued responses get the listener.
 */
function closeQueuedWithConnection(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const onClose = () => {
    // Given the socket since (its turn came): Node closes it itself.
    if (res.socket !== null || res.writableFinished || res.destroyed) return;
    res.destroy();
    res.emit('close');
  };
  socket.once('close', onClose);
  res.once('finish', () => socket.removeListener('close', onClose));
}

/**
 * Node's parser options for every paygate server: its header size limit, and a request without
 * Host reaching the app (Node would answer it with a bare 400, no problem, no request id) to be
 * refused there as a problem (headerFieldsProblem).
 */
export const SERVER_OPTIONS = {
  maxHeaderSize: INPUT_LIMITS.headerBytes,
  requireHostHeader: false,
} as const;

/**
 * The HTTP server of an app with a front door: requests the door takes are answered by it,
 * the others (and every request once the app is closing, which Fastify answers with 503 and
 * `Connection: close`) by Fastify's handler. Its timeouts are those Fastify sets on a server
 * it makes itself.
 */
export function frontDoorServer(
  door: FrontDoor,
  framework: (req: IncomingMessage, res: ServerResponse) => void,
  closing: () => boolean,
): Server {
  const server = createServer(SERVER_OPTIONS, (req, res) => {
    if (res.socket === null) closeQueuedWithConnection(req, res);
    const url = req.url ?? '/';
    if (closing() || !door.takes(pathOf(url))) return framework(req, res);
    const started = performance.now();
    const requestId = requestIdFor(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // on(), not once(): a response emits 'close' once, and once() wraps every listener.
    res.on('close', () => {
      httpRequestDuration.observe(
        { method: req.method ?? '', route: door.routeLabel, status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    });
    const problem =
      headerFieldsProblem(req) ??
      targetProblem(url) ??
      (SUPPORTED_METHODS.includes(req.method ?? '')
        ? undefined
        : ({ code: 'not-implemented' } satisfies ProblemInput));
    if (problem) return writeProblem(res, { url, id: requestId, headers: req.headers }, problem);
    door.handle(req, res, requestId);
  });
  server.maxHeadersCount = INPUT_LIMITS.headerFields + 1;
  server.keepAliveTimeout = 72_000;
  server.requestTimeout = 0;
  server.setTimeout(0);
  return server;
}
