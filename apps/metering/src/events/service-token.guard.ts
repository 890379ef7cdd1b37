import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { BearerTokens } from '@paygate/http';
import type { FastifyRequest } from 'fastify';
import { MeteringConfig } from '../config/metering.config';

/** Services publishing usage over HTTP send one of SERVICE_TOKENS as a bearer token. */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  private readonly tokens: BearerTokens;

  constructor(@Inject(MeteringConfig) config: MeteringConfig) {
    this.tokens = new BearerTokens(config.SERVICE_TOKENS, 'paygate-events');
  }

  canActivate(context: ExecutionContext): boolean {
    this.tokens.check(context.switchToHttp().getRequest<FastifyRequest>(), 'service token');
    return true;
  }
}
