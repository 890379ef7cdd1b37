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
  const none = { tokens: [], tls: false, clientCa: false };
  const all = { tokens: [NEW], tls: true, clientCa: true };

  it.each(['127.0.0.1:50051', '127.1.2.3:50051', 'localhost:50051', '[::1]:50051', '::1'])(
    'says nothing for a loopback bind address (%s), TLS or not',
    (url) => expect(openGrpcPortWarning(url, none)).toBeUndefined(),
  );

  describe.each(['0.0.0.0:50051', '[::]:50051', 'entitlement:50051', '10.0.0.5:50051'])(
    'beyond loopback (%s)',
    (url) => {
      it('names GRPC_TOKENS and TLS when the port has neither', () => {
        const warning = openGrpcPortWarning(url, none);
        expect(warning).toMatch(/takes calls from whoever reaches it/);
        expect(warning).toMatch(/GRPC_TOKENS/);
        expect(warning).toMatch(/GRPC_TLS_CERT_FILE/);
      });

      it('names TLS when the port has tokens but speaks plaintext', () => {
        const warning = openGrpcPortWarning(url, { ...none, tokens: [NEW] });
        expect(warning).toMatch(/plaintext/);
        expect(warning).toMatch(/GRPC_TLS_CERT_FILE/);
        expect(warning).not.toMatch(/whoever reaches it/);
      });

      it('names GRPC_TOKENS or client certificates when TLS lets anyone call', () => {
        const warning = openGrpcPortWarning(url, { ...none, tls: true });
        expect(warning).toMatch(/takes calls from whoever reaches it/);
        expect(warning).toMatch(/GRPC_TLS_CLIENT_CA_FILE/);
        expect(warning).not.toMatch(/plaintext/);
      });

      it('says nothing with TLS and tokens, or with mutual TLS', () => {
        expect(openGrpcPortWarning(url, all)).toBeUndefined();
        expect(openGrpcPortWarning(url, { ...all, clientCa: false })).toBeUndefined();
        expect(openGrpcPortWarning(url, { ...all, tokens: [] })).toBeUndefined();
      });
    },
  );
});
