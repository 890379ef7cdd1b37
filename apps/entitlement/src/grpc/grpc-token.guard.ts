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

/** How the gRPC port is protected, for openGrpcPortWarning. */
export interface GrpcPortProtection {
  /** GRPC_TOKENS. */
  tokens: readonly string[];
  /** GRPC_TLS_CERT_FILE (and its key): the port speaks TLS only. */
  tls: boolean;
  /** GRPC_TLS_CLIENT_CA_FILE: only clients with a certificate that CA signed connect. */
  clientCa: boolean;
}

/**
 * The warning to log at start when the gRPC port binds an address other machines may reach
 * and either takes every call (no GRPC_TOKENS, no mutual TLS) or speaks plaintext (tokens and
 * the callers' API keys readable on the network); undefined when it binds loopback only or
 * has both.
 */
export function openGrpcPortWarning(
  url: string,
  { tokens, tls, clientCa }: GrpcPortProtection,
): string | undefined {
  if (isLoopback(bindHost(url))) return undefined;
  const open = tokens.length === 0 && !clientCa;
  if (open && !tls)
    return (
      `the gRPC port (GRPC_URL ${url}) takes calls from whoever reaches it, RecordPayment ` +
      '(credits) included, in plaintext: set GRPC_TOKENS, and ENTITLEMENT_GRPC_TOKEN on every ' +
      'gateway, and TLS (GRPC_TLS_CERT_FILE, GRPC_TLS_KEY_FILE)'
    );
  if (open)
    return (
      `the gRPC port (GRPC_URL ${url}) takes calls from whoever reaches it, RecordPayment ` +
      '(credits) included: set GRPC_TOKENS, and ENTITLEMENT_GRPC_TOKEN on every gateway, or ' +
      'require client certificates (GRPC_TLS_CLIENT_CA_FILE)'
    );
  if (!tls)
    return (
      `the gRPC port (GRPC_URL ${url}) speaks plaintext beyond loopback: whoever can watch ` +
      "the network reads its tokens and the callers' API keys: set GRPC_TLS_CERT_FILE and " +
      'GRPC_TLS_KEY_FILE (and TLS on every gateway), or keep the port on a private network'
    );
  return undefined;
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
