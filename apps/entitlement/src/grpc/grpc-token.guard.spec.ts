import { Metadata, status } from '@grpc/grpc-js';
import type { ExecutionContext } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { GrpcTokenGuard, openGrpcPortWarning } from './grpc-token.guard';

const OLD = `old-token-${'a'.repeat(30)}`;
const NEW = `new-token-${'b'.repeat(30)}`;

/** A gRPC call's context as Nest hands it to a guard: the call's metadata is the RPC context. */
function callWith(...authorization: string[]): ExecutionContext {
  const metadata = new Metadata();
  for (const value of authorization) metadata.add('authorization', value);
  return {
    getType: () => 'rpc',
    switchToRpc: () => ({ getContext: () => metadata, getData: () => ({}) }),
  } as unknown as ExecutionContext;
}

/** The gRPC status and message a refusal carries (undefined when the call is let through). */
function refusal(guard: GrpcTokenGuard, context: ExecutionContext) {
  try {
    guard.canActivate(context);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(RpcException);
    return (err as RpcException).getError() as { code: number; message: string };
  }
}

describe('GrpcTokenGuard', () => {
  const guard = new GrpcTokenGuard([OLD, NEW]);

  it('lets through a call carrying any of the tokens (both during a rotation)', () => {
    expect(guard.canActivate(callWith(`Bearer ${OLD}`))).toBe(true);
    expect(guard.canActivate(callWith(`Bearer ${NEW}`))).toBe(true);
    expect(guard.canActivate(callWith(`bearer   ${NEW} `))).toBe(true);
  });

  it('refuses a call without the metadata UNAUTHENTICATED, saying what is needed', () => {
    expect(refusal(guard, callWith())).toEqual({
      code: status.UNAUTHENTICATED,
      message: 'authorization metadata "Bearer <token>" is required',
    });
  });

  it.each([
    ['another token', `Bearer other-${'c'.repeat(30)}`],
    ['a token one character short', `Bearer ${NEW.slice(0, -1)}`],
    ['the token without the scheme', NEW],
    ['another scheme', `Basic ${NEW}`],
    ['a token with more after it', `Bearer ${NEW} ${OLD}`],
  ])('refuses %s UNAUTHENTICATED without repeating it', (_, value) => {
    const refused = refusal(guard, callWith(value));
    expect(refused).toEqual({
      code: status.UNAUTHENTICATED,
      message: 'the bearer token is not accepted',
    });
  });

  it('refuses two authorization values, one of them right: which one was meant is unclear', () => {
    expect(refusal(guard, callWith(`Bearer ${NEW}`, `Bearer other-${'d'.repeat(30)}`))).toEqual(
      expect.objectContaining({ code: status.UNAUTHENTICATED }),
    );
  });

  it('refuses a context without metadata', () => {
    const bare = {
      switchToRpc: () => ({ getContext: () => undefined }),
    } as unknown as ExecutionContext;
    expect(refusal(guard, bare)).toEqual(expect.objectContaining({ code: status.UNAUTHENTICATED }));
  });

  it('lets every call through without tokens (GRPC_TOKENS unset)', () => {
    const open = new GrpcTokenGuard([]);
    expect(open.canActivate(callWith())).toBe(true);
    expect(open.canActivate(callWith('Bearer anything'))).toBe(true);
  });
});

describe('openGrpcPortWarning', () => {
  it.each(['127.0.0.1:50051', '127.1.2.3:50051', 'localhost:50051', '[::1]:50051', '::1'])(
    'says nothing for a loopback bind address (%s)',
    (url) => expect(openGrpcPortWarning(url, [])).toBeUndefined(),
  );

  it.each(['0.0.0.0:50051', '[::]:50051', 'entitlement:50051', '10.0.0.5:50051'])(
    'warns, naming GRPC_TOKENS, for %s without tokens',
    (url) => {
      expect(openGrpcPortWarning(url, [])).toMatch(/GRPC_TOKENS/);
      expect(openGrpcPortWarning(url, [NEW])).toBeUndefined();
    },
  );
});
