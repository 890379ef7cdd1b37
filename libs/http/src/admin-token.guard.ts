import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Provide the operator token under this token in every app that uses AdminTokenGuard. */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Operator endpoints need "Authorization: Bearer <admin token>". Both sides are hashed first
 * so the comparison is constant-time whatever the lengths.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (token && timingSafeEqual(digest(token), this.expected)) return true;
    throw new ProblemException({
      code: 'unauthenticated',
      detail: 'This API needs "Authorization: Bearer <admin token>".',
      headers: { 'www-authenticate': 'Bearer realm="paygate-admin"' },
    });
  }
}
