import { Transform, type TransformCallback } from 'node:stream';

/** Raised inside the stream when a body goes past its limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

/**
 * Passes a streamed body through unbuffered, failing once it exceeds `limit` bytes: a body
 * without Content-Length (chunked) can only be measured as it flows. `exceeded` tells the
 * proxy that the upstream request failed because of the caller, not the upstream.
 */
export class BodyLimit extends Transform {
  private seen = 0;
  exceeded = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.exceeded = true;
      done(new BodyTooLargeError(this.limit));
      return;
    }
    done(null, chunk);
  }
}
