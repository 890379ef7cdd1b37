import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';

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
  /** For the response headers and for each gap in the response body. */
  timeoutMs: number;
}

/**
 * Why an upstream gave no answer: it took too long, could not be reached or failed, or the
 * caller went away first.
 */
export type UpstreamFailure = 'timeout' | 'unavailable' | 'cancelled';

export interface UpstreamHandlers {
  /**
   * The upstream's status and headers arrived: returns the headers to send to the caller. The
   * body then streams from the upstream into `res` with back-pressure.
   */
  onResponse(statusCode: number, headers: IncomingHttpHeaders): OutgoingHttpHeaders;
  /** No answer came; nothing was written to the caller. */
  onFailure(error: Error, failure: UpstreamFailure): void;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT']);

/**
 * The abort signal undici accepts besides AbortSignal: an emitter of 'abort' with `aborted`.
 * One per request, and far cheaper to make and to drop than an AbortController.
 */
class CallerGone extends EventEmitter {
  aborted = false;

  abort(): void {
    this.aborted = true;
    this.emit('abort');
  }
}

/**
 * Streams requests to upstreams over keep-alive connection pools (undici, one pool per
 * origin). undici's stream() writes the upstream's body straight into the caller's response:
 * no intermediate Readable per request, which is most of what a proxy spends per request in
 * Node after parsing.
 */
@Injectable()
export class UpstreamForwarder implements OnApplicationShutdown {
  private readonly pools = new Map<string, Pool>();

  forward(request: UpstreamRequest, res: ServerResponse, handlers: UpstreamHandlers): void {
    // A caller that goes away cancels the upstream request instead of leaving it running.
    const gone = new CallerGone();
    const onClose = () => {
      if (!res.writableFinished) gone.abort();
    };
    res.once('close', onClose);
    let answered = false;
    this.pool(request.origin).stream(
      {
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body ?? null,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
        signal: gone,
      },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, handlers.onResponse(statusCode, headers));
        answered = true;
        return res;
      },
      (err) => {
        res.off('close', onClose);
        // After the answer began, undici has already cut the caller's response short.
        if (!err || answered) return;
        const code = (err as { code?: string }).code ?? '';
        const failure = gone.aborted
          ? 'cancelled'
          : TIMEOUT_CODES.has(code)
            ? 'timeout'
            : 'unavailable';
        handlers.onFailure(err, failure);
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }
}
