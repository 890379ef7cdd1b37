import { status } from '@grpc/grpc-js';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { BearerTokens } from '@paygate/http';
import { isIP } from 'node:net';

/**
 * The tokens the gRPC port takes (GRPC_TOKENS; empty: every call). An injection token of its
 * own rather than EntitlementConfig, so that a module serving the gRPC controllers with only
 * some of the app's providers (test/support/entitlement-grpc.fixture.ts) provides just this.
 */
export const GRPC_TOKENS = Symbol('GRPC_TOKENS');

/** What a call's metadata offers: grpc-js's Metadata, read by key. */
interface CallMetadata {
  get(key: string): unknown[];
}

/**
 * Every gRPC method needs metadata `authorization: Bearer <token>` with one of GRPC_TOKENS
 * (compared as the operator API compares its tokens: hashed, in constant time), when any is
 * set; otherwise UNAUTHENTICATED before the handler runs. The answer never repeats the token.
 */
@Injectable()
export class GrpcTokenGuard implements CanActivate {
  private readonly tokens: BearerTokens | undefined;

  constructor(@Inject(GRPC_TOKENS) tokens: readonly string[]) {
    this.tokens = tokens.length > 0 ? new BearerTokens([...tokens], 'paygate-grpc') : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.tokens) return true;
    const metadata = context.switchToRpc().getContext<CallMetadata | undefined>();
    const values = typeof metadata?.get === 'function' ? metadata.get('authorization') : [];
    if (values.length === 0)
      throw unauthenticated('authorization metadata "Bearer <token>" is required');
    // Two values would leave open which one was checked: refused like a wrong one.
    const value = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
    if (!this.tokens.accepts(value)) throw unauthenticated('the bearer token is not accepted');
    return true;
  }
}

function unauthenticated(message: string): RpcException {
  return new RpcException({ code: status.UNAUTHENTICATED, message });
}

/**
 * The warning to log at start when the gRPC port takes every call (no GRPC_TOKENS) on an
 * address other machines may reach; undefined when it has tokens or binds loopback only.
 */
export function openGrpcPortWarning(url: string, tokens: readonly string[]): string | undefined {
  if (tokens.length > 0 || isLoopback(bindHost(url))) return undefined;
  return (
    `the gRPC port (GRPC_URL ${url}) takes calls from whoever reaches it, RecordPayment ` +
    '(credits) included: set GRPC_TOKENS, and ENTITLEMENT_GRPC_TOKEN on every gateway'
  );
}

/** The host of a grpc-js bind address: "host:port", "[v6]:port", or a bare address. */
function bindHost(url: string): string {
  const address = url.trim().toLowerCase();
  if (isIP(address)) return address;
  const bracketed = /^\[([^\]]*)\]/.exec(address);
  return bracketed ? bracketed[1] : address.replace(/:\d*$/, '');
}

function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}
