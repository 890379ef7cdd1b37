import { REQUEST_ID_HEADER, httpRequestDuration, requestIdFor } from '@paygate/observability';
import { ProblemInput, writeProblem } from '@paygate/problem-details';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { headerFieldsProblem, targetProblem, versionProblem } from './http-edge';
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

/** The responses queued on a connection (pipelined) that have not closed yet. */
const queuedOn = new WeakMap<Socket, Set<ServerResponse>>();

/**
 * Closes a pipelined request's response when the caller closes the connection before it. Node
 * answers pipelined requests in order: a response queued behind an earlier one has no socket
 * yet, and when the connection closes Node ends its request but never closes the response (no
 * 'close', `destroyed` stays false; one destroyed while queued, by a timeout or a failed
 * upstream, gets no 'close' either). What waits for a response's 'close' would wait for good:
 * cancelling the upstream call (its connection held while nobody reads the answer), the
 * concurrency slot, the access log line, the request metric. This closes each such response
 * once, the way Node closes the response that has the socket. Only connections with queued
 * responses get a listener, one per connection however many are queued.
 */
function closeQueuedWithConnection(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  let queued = queuedOn.get(socket);
  if (!queued) {
    const responses = new Set<ServerResponse>();
    queuedOn.set(socket, responses);
    socket.once('close', () => {
      for (const r of responses) {
        // Given the socket since (its turn came): Node closes it itself.
        if (r.socket !== null || r.writableFinished) continue;
        if (!r.destroyed) r.destroy();
        r.emit('close');
      }
      responses.clear();
    });
    queued = responses;
  }
  const responses = queued;
  responses.add(res);
  // Closed (by Node or above) or finished: nothing left to close, and never twice.
  const forget = () => responses.delete(res);
  res.once('close', forget);
  res.once('finish', forget);
}

/**
 * Node's parser options for every paygate server: its header size limit, and a request without
 * Host reaching the app (Node would answer it with a bare 400, no problem, no request id) to be
 * refused there as a problem (headerFieldsProblem).
 */
export const SERVER_OPTIONS = {
  maxHeaderSize: INPUT_LIMITS.headerBytes,
  requireHostHeader: false,
  // How often Node looks for requests past their headers or request timeout: by default every
  // 30 s, which let a 30 s deadline run to nearly 60.
  connectionsCheckingInterval: 1_000,
} as const;

/**
 * The HTTP server of an app with a front door: requests the door takes are answered by it,
 * the others (and every request once the app is closing, which Fastify answers with 503 and
 * `Connection: close`) by Fastify's handler. Its timeouts are those Fastify sets on a server
 * it makes itself, but for the whole request's (see below).
 */
export function frontDoorServer(
  door: FrontDoor,
  framework: (req: IncomingMessage, res: ServerResponse) => void,
  closing: () => boolean,
): Server {
  // No deadline on the whole request (a proxied body streams for as long as it keeps coming,
  // see UpstreamExchange.watchSending), but the headers have the same 30 s as every service's:
  // Node's default, 60 s, held a request whose headers never end twice as long.
  const timeouts = { requestTimeout: 0, headersTimeout: INPUT_LIMITS.requestMs };
  const server = createServer({ ...SERVER_OPTIONS, ...timeouts }, (req, res) => {
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
      versionProblem(req) ??
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
  server.setTimeout(0);
  return server;
}
