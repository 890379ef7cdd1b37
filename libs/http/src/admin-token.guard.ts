import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Provide the operator token under this token in every app that uses AdminTokenGuard. */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The credentials of "Authorization: Bearer <token>". The scheme name is case-insensitive
 * (RFC 9110 §11.1: "bearer" and "BEARER" too, as the gateway reads API keys), followed by one
 * or more spaces; surrounding whitespace is not part of the token.
 */
export function bearerToken(header: string | string[] | undefined): string {
  if (typeof header !== 'string') return '';
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] ?? '';
}

/**
 * Accepts "Authorization: Bearer <token>" (any case of "Bearer") for any of a set of tokens. Both sides are hashed
 * first so each comparison is constant-time whatever the lengths.
 */
export class BearerTokens {
  private readonly expected: Buffer[];

  constructor(
    tokens: string[],
    private readonly realm: string,
  ) {
    this.expected = tokens.map(digest);
  }

  /**
   * Whether an Authorization value ("Bearer <token>") carries one of the tokens. Not HTTP's
   * alone: the entitlement service's gRPC guard reads the same value from call metadata.
   */
  accepts(authorization: string | string[] | undefined): boolean {
    const token = bearerToken(authorization);
    if (!token) return false;
    const actual = digest(token);
    // Every token is compared, so timing tells nothing about which one nearly matched.
    let matched = false;
    for (const e of this.expected) matched = timingSafeEqual(actual, e) || matched;
    return matched;
  }

  /** Throws a 401 problem unless the request carries one of the tokens. */
  check(request: FastifyRequest, what: string): void {
    if (this.accepts(request.headers.authorization)) return;
    throw new ProblemException({
      code: 'unauthenticated',
      detail: `This API needs "Authorization: Bearer <${what}>".`,
      headers: { 'www-authenticate': `Bearer realm="${this.realm}"` },
    });
  }
}

/** Operator endpoints need "Authorization: Bearer <admin token>". */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly tokens: BearerTokens;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.tokens = new BearerTokens([token], 'paygate-admin');
  }

  canActivate(context: ExecutionContext): boolean {
    this.tokens.check(context.switchToHttp().getRequest<FastifyRequest>(), 'admin token');
    return true;
  }
}
