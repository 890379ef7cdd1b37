import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';

export interface UpstreamRequest {
  origin: string;
  /** Path and query string on the upstream. */
  path: string;
  method: string;
  /**
   * undici's flat `[name, value, …]` list, without hop-by-hop fields and without Host (undici
   * sets the origin's); see upstreamHeaders.
   */
  headers: string[];
  body?: Readable;
  /**
   * The longest wait for each step: a connection to the upstream, the answer's headers, each
   * gap in the answer's body, each gap in the caller's body, and the caller reading the answer.
   */
  timeoutMs: number;
  /**
   * The least the caller's body must arrive at while it streams, in bytes a second, measured
   * over each `timeoutMs` (0: any byte in each `timeoutMs` will do).
   */
  minBodyBytesPerSecond: number;
}

/**
 * Why an upstream gave no answer: it took too long, could not be reached or failed, the caller
 * went away before the upstream had its whole request (`cancelled`) or after (`abandoned`: the
 * upstream may well have done the work), or the caller stopped sending its body
 * (`caller-timeout`).
 */
export type UpstreamFailure =
  'timeout' | 'unavailable' | 'cancelled' | 'abandoned' | 'caller-timeout';

export interface UpstreamHandlers {
  /**
   * The upstream's status and headers arrived: returns the headers to send to the caller,
   * without doing anything else (Node may still refuse one of them, and then onFailure follows).
   * Fields already set on the response win over those returned.
   */
  onResponse(statusCode: number, headers: IncomingHttpHeaders): OutgoingHttpHeaders;
  /** The answer's status and headers were written; the body now streams with back-pressure. */
  onAnswered(statusCode: number): void;
  /** No answer was written to the caller (called at most once, never after onAnswered). */
  onFailure(error: Error, failure: UpstreamFailure): void;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT']);

/** Why undici was told to stop: the caller went away before the answer was complete. */
class CallerGoneError extends Error {
  constructor() {
    super('the caller closed the connection');
    this.name = 'CallerGoneError';
  }
}

/** Why undici was told to stop: a wait undici's own timeouts do not cover took too long. */
class StalledError extends Error {
  constructor(
    message: string,
    readonly failure: UpstreamFailure,
  ) {
    super(message);
    this.name = 'StalledError';
  }
}

/**
 * What one window (the timeout) of a caller's body on its way says: it is coming (`on`); it
 * came, but slower than the least taken, and the upstream did not hold it back meanwhile
 * (`too-slow`: the caller's doing); or nothing came at all (`stalled`: the caller's, or the
 * upstream's if it is not reading).
 */
export function sendingWindow(
  received: number,
  minBytes: number,
  heldBack: boolean,
): 'on' | 'too-slow' | 'stalled' {
  if (received === 0) return 'stalled';
  return received >= minBytes || heldBack ? 'on' : 'too-slow';
}

/**
 * One request to an upstream, written straight into the caller's response: undici's dispatch
 * handler contract, which its own stream() is built on, without what stream() adds per request
 * for a general caller (an async resource, a factory callback, `finished()` with its half dozen
 * listeners on the response, an abort signal's listeners). What stays: the answer's body goes
 * to `res` with back-pressure (undici is paused while `res` is full, resumed on 'drain'), a
 * caller that goes away cancels the upstream request, and a failure before the answer began is
 * the handlers' to answer; after, the caller's response is cut short.
 */
class UpstreamExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  /** The status line and headers were written to the caller. */
  private answered = false;
  private done = false;
  private readonly hasBody: boolean;
  /** The caller's body was read to its end (by undici, into the upstream connection). */
  private bodyEnded = false;
  /** Why the request must stop before undici started it (the caller left, the body failed). */
  private stopBefore: Error | undefined;
  private drainListener: (() => void) | undefined;
  /** Runs while the caller does not read the answer (undici is paused meanwhile). */
  private readTimer: NodeJS.Timeout | undefined;
  /** Runs while the request waits for a connection or the caller's body is still coming. */
  private sendTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly handlers: UpstreamHandlers,
    body: Readable | undefined,
    private readonly timeoutMs: number,
  ) {
    // One listener per request (on(): 'close' comes once); a response that finished normally
    // ignores its own 'close'.
    res.on('close', () => {
      if (!this.done && !res.writableFinished) this.stop(new CallerGoneError());
    });
    this.hasBody = body !== undefined;
    if (body) {
      body.once('error', (err) => this.stop(err));
      body.once('end', () => {
        this.bodyEnded = true;
      });
    }
  }

  /**
   * The upstream has the whole request: undici took a connection for it (and writes the head at
   * once) and read the caller's body, if any, to its end. A caller leaving after that does not
   * take back the work the upstream may have done.
   */
  private get delivered(): boolean {
    return this.controller !== undefined && (!this.hasBody || this.bodyEnded);
  }

  /**
   * Bounds what undici's timeouts leave open, once dispatched: its headers timeout starts only
   * after the whole body was written, so a request queued for a connection, or whose caller
   * sends its body a byte a minute, would hold a concurrency slot and a connection with no
   * end. A request without a body that found a connection free needs no timer; one with a
   * body gets one (undici starts a streamed body a microtask after dispatch). Each `timeoutMs`
   * the body must have brought `minBytes` (a byte every few seconds would otherwise keep the
   * connection for as long as the caller likes), unless it was held back meanwhile because the
   * upstream did not read it: then any byte will do.
   */
  watchSending(caller: IncomingMessage, hasBody: boolean, minBytes: number): void {
    if (this.done || (this.controller && (!hasBody || caller.complete))) return;
    let bytesRead = caller.socket.bytesRead;
    // Set when the body is paused (undici, or the body limit's pipe, waiting on the upstream).
    let heldBack = false;
    if (hasBody && minBytes > 0) caller.on('pause', () => (heldBack = true));
    this.sendTimer = setTimeout(() => {
      if (this.done) return;
      if (!this.controller) {
        this.stop(new StalledError(`no upstream connection in ${this.timeoutMs} ms`, 'timeout'));
        return;
      }
      if (!hasBody || caller.complete) return;
      const received = caller.socket.bytesRead - bytesRead;
      // Not flowing (paused, or not yet read by undici): the body waits on the gateway's side.
      const verdict = sendingWindow(
        received,
        minBytes,
        heldBack || caller.readableFlowing !== true,
      );
      bytesRead = caller.socket.bytesRead;
      heldBack = false;
      if (verdict === 'on') {
        this.sendTimer?.refresh();
        return;
      }
      if (verdict === 'too-slow') {
        const slow = `the caller sent ${received} bytes in ${this.timeoutMs} ms while its body was due (at least ${minBytes} taken)`;
        this.stop(new StalledError(slow, 'caller-timeout'));
        return;
      }
      // Nothing came from the caller: it stopped sending, unless the body is paused because
      // the upstream stopped reading it, which is the upstream's wait.
      this.stop(
        caller.readableFlowing === false
          ? new StalledError(`the upstream read no body for ${this.timeoutMs} ms`, 'timeout')
          : new StalledError(`the caller sent no body for ${this.timeoutMs} ms`, 'caller-timeout'),
      );
    }, this.timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.stopBefore) controller.abort(this.stopBefore);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx answers are the hop's own (100-continue is answered by the gateway itself).
    if (statusCode < 200) return;
    const res = this.res;
    const out = this.handlers.onResponse(statusCode, headers);
    // Set one by one (what writeHead does anyway once a field is set on `res`), so that a field
    // Node refuses leaves nothing of the upstream's behind: the throw reaches onResponseError,
    // unanswered, and the problem answered instead carries only the gateway's own fields.
    const added: string[] = [];
    try {
      for (const name in out) {
        const value = out[name];
        // A field already on the response is the gateway's own (X-Request-Id, a payment
        // receipt): it wins over the upstream's.
        if (value === undefined || res.hasHeader(name)) continue;
        res.setHeader(name, value);
        added.push(name);
      }
      res.writeHead(statusCode);
    } catch (err) {
      for (const name of added) res.removeHeader(name);
      throw err;
    }
    this.answered = true;
    this.handlers.onAnswered(statusCode);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.write(chunk)) return;
    controller.pause();
    this.drainListener ??= () => {
      clearTimeout(this.readTimer);
      controller.resume();
    };
    this.res.once('drain', this.drainListener);
    // undici's body timeout does not run while it is paused: a caller that stops reading
    // would hold the upstream connection for good. Cutting the response closes it, and its
    // 'close' cancels the upstream request (for a pipelined response not yet on the socket,
    // the front door sees to that 'close').
    this.readTimer = setTimeout(() => this.readTimeout(), this.timeoutMs);
  }

  /**
   * The caller read nothing for the timeout: cut its response. Not while the response waits
   * behind an earlier pipelined one (no socket yet): that wait is the earlier answer's, which
   * has its own bounds, so the clock starts again.
   */
  private readTimeout(): void {
    if (this.done) return;
    if (this.res.socket === null) {
      this.readTimer = setTimeout(() => this.readTimeout(), this.timeoutMs);
      return;
    }
    this.res.destroy(
      new StalledError(`the caller read nothing for ${this.timeoutMs} ms`, 'caller-timeout'),
    );
  }

  onResponseEnd(): void {
    this.finish();
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    // Already failed before undici started the request (stop): this is its abort coming back.
    if (this.done) return;
    this.fail(error);
  }

  private finish(): void {
    this.done = true;
    clearTimeout(this.sendTimer);
    clearTimeout(this.readTimer);
  }

  private fail(error: Error): void {
    this.finish();
    // After the answer began, all that is left is to cut the caller's response short.
    if (this.answered) {
      this.res.destroy(error);
      return;
    }
    const code = (error as { code?: string }).code ?? '';
    // A caller that hung up while sending its body fails the body (ECONNRESET) as well as
    // closing the response, in either order: both mean it is gone.
    const gone = error instanceof CallerGoneError || this.res.destroyed;
    const failure: UpstreamFailure =
      error instanceof StalledError
        ? error.failure
        : gone
          ? this.delivered
            ? 'abandoned'
            : 'cancelled'
          : TIMEOUT_CODES.has(code)
            ? 'timeout'
            : 'unavailable';
    this.handlers.onFailure(error, failure);
  }

  private stop(reason: Error): void {
    if (this.done) return;
    if (this.controller) {
      this.controller.abort(reason);
      return;
    }
    // Still queued for a connection (every one busy): answered now, not when one frees up
    // (up to the upstream timeout later), and undici drops the request as it starts it.
    this.stopBefore = reason;
    this.fail(reason);
  }
}

/**
 * Streams requests to upstreams over keep-alive connection pools (undici, one pool per
 * origin), each through an UpstreamExchange that writes the upstream's body straight into the
 * caller's response: no intermediate Readable per request, which is most of what a proxy
 * spends per request in Node after parsing.
 */
@Injectable()
export class UpstreamForwarder implements OnApplicationShutdown {
  private readonly pools = new Map<string, Pool>();
  /** Keep-alive connections per upstream origin (a spec makes it 1 to queue requests). */
  protected readonly connectionsPerOrigin: number = 256;

  forward(request: UpstreamRequest, res: ServerResponse, handlers: UpstreamHandlers): void {
    const exchange = new UpstreamExchange(res, handlers, request.body, request.timeoutMs);
    this.pool(request.origin).dispatch(
      {
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      },
      exchange,
    );
    const minBytes = Math.ceil((request.minBodyBytesPerSecond * request.timeoutMs) / 1000);
    exchange.watchSending(res.req, request.body !== undefined, minBytes);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connectionsPerOrigin,
        pipelining: 1,
        keepAliveTimeout: 30_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}
