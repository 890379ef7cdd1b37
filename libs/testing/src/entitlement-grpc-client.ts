import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { randomUUID } from 'node:crypto';
import {
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
  type CheckRequest,
  type CheckResponse,
} from '../../libs/contracts/src';

type Stub = Client & {
  check(req: CheckRequest, cb: (err: Error | null, res: CheckResponse) => void): void;
};
type Package = {
  paygate: {
    entitlement: { v1: { EntitlementService: new (address: string, creds: unknown) => Stub } };
  };
};

/** A plain grpc-js client of the decision service, as any gateway replica would hold. */
export class EntitlementGrpcClient {
  private readonly stub: Stub;

  constructor(port: number) {
    const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
    const pkg = loadPackageDefinition(definition) as unknown as Package;
    this.stub = new pkg.paygate.entitlement.v1.EntitlementService(
      `127.0.0.1:${port}`,
      credentials.createInsecure(),
    );
  }

  check(apiKey: string, cost = 1, feature = 'requests'): Promise<CheckResponse> {
    return new Promise((resolve, reject) =>
      this.stub.check(
        { apiKey, feature, cost, requestId: randomUUID(), requiredScopes: [] },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  }

  close(): void {
    this.stub.close();
  }
}
