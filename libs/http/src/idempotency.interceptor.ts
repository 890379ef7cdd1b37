import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { Observable, catchError, from, mergeMap, of } from 'rxjs';

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'in-progress' }
  /**
   * Claimed longer ago than any request runs (UNFINISHED_AFTER_SECONDS) and never completed:
   * the service stopped, or could not keep the response, after the request may have taken
   * effect. Running it again could do it twice, so it is never run again under this key.
   */
  | { state: 'unfinished' }
  | { state: 'mismatch' }
  | { state: 'done'; status: number; body: unknown };

/** Where responses to idempotent requests are kept (a table of the owning service). */
export interface IdempotencyStore {
  claim(key: string, fingerprint: string): Promise<IdempotencyClaim>;
  complete(key: string, status: number, body: unknown): Promise<void>;
  abandon(key: string): Promise<void>;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');

/**
 * Past this, a claim never completed is `unfinished`, not `in-progress`: far longer than a
 * request of the operator API runs (statements and calls are bounded by seconds).
 */
export const UNFINISHED_AFTER_SECONDS = 300;

/**
 * A response holding a one-time secret (a new API key) says what a replay of it answers
 * instead; the interceptor stores that and never the secret (see CreatedApiKey).
 */
export interface ReplaysWithoutSecret {
  idempotentReplay(): unknown;
}

/** What is kept for a replay of this response body. */
export function replayBody(body: unknown): unknown {
  const replay = (body as Partial<ReplaysWithoutSecret> | null)?.idempotentReplay;
  return typeof replay === 'function' ? replay.call(body) : (body ?? null);
}

const KEY = /^[A-Za-z0-9._:-]{1,200}$/;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * `Idempotency-Key` on every mutating endpoint: the first request with a key runs and its
 * response is kept; a retry with the same key and the same request gets that response again
 * (`Idempotent-Replayed: true`) without running twice; the same key with another request, or
 * while the first is still running, is a 409. A request that failed keeps nothing, so it can
 * be retried with its key. One that took effect but whose response could not be kept (or
 * whose service stopped in between) is never run again under its key: 409 `unfinished`. One-time secrets are not kept: a body with idempotentReplay() is
 * stored (and replayed) as what that returns.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(@Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const key = request.headers['idempotency-key'];
    if (!MUTATING.has(request.method) || key === undefined) return next.handle();
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new ProblemException({
        code: 'validation-failed',
        extensions: {
          errors: [{ field: 'Idempotency-Key', messages: ['must match [A-Za-z0-9._:-]{1,200}'] }],
        },
      });
    }
    const fingerprint = createHash('sha256')
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    return from(this.store.claim(key, fingerprint)).pipe(
      mergeMap((claim) => {
        switch (claim.state) {
          case 'mismatch':
            throw new ProblemException({
              code: 'conflict',
              detail: 'This Idempotency-Key was already used for a different request.',
            });
          case 'unfinished':
            throw new ProblemException({
              code: 'conflict',
              detail:
                'The first request with this Idempotency-Key did not finish: whether it took effect is unknown, so it is not run again. Check the resource, then use a new key.',
            });
          case 'in-progress':
            throw new ProblemException({
              code: 'conflict',
              detail: 'A request with this Idempotency-Key is still being processed.',
              headers: { 'retry-after': '1' },
            });
          case 'done':
            void reply.status(claim.status).header('idempotent-replayed', 'true');
            return of(claim.body);
          case 'new':
            return next.handle().pipe(
              // The handler failed: nothing took effect, the key may be used again.
              catchError(async (err: unknown) => {
                await this.store.abandon(key);
                throw err;
              }),
              // After catchError: if keeping the response fails, the request did take effect,
              // so the claim stays (a retry gets 409, later `unfinished`), never run twice.
              mergeMap(async (body: unknown) => {
                await this.store.complete(key, reply.statusCode, replayBody(body));
                return body;
              }),
            );
        }
      }),
    );
  }
}
