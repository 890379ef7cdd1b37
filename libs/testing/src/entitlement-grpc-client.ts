import {
  type ChannelCredentials,
  Metadata,
  credentials,
  loadPackageDefinition,
  type Client,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { randomUUID } from 'node:crypto';
import {
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
  type CheckRequest,
  type CheckResponse,
  type RecordPaymentRequest,
  type RecordPaymentResponse,
  type ReleaseRequest,
  type ReleaseResponse,
} from '@paygate/contracts';

type Callback<T> = (err: Error | null, res: T) => void;
type Stub = Client & {
  check(req: CheckRequest, metadata: Metadata, cb: Callback<CheckResponse>): void;
  release(req: ReleaseRequest, metadata: Metadata, cb: Callback<ReleaseResponse>): void;
  recordPayment(
    req: RecordPaymentRequest,
    metadata: Metadata,
    cb: Callback<RecordPaymentResponse>,
  ): void;
};
type Package = {
  paygate: {
    entitlement: { v1: { EntitlementService: new (address: string, creds: unknown) => Stub } };
  };
};

/**
 * A plain grpc-js client of the decision service, as any gateway replica would hold (for the
 * e2e tests, and for the bench's per-request check behind nginx auth_request).
 */
export class EntitlementGrpcClient {
  private readonly stub: Stub;

  /**
   * `token`: sent as metadata `authorization: Bearer <token>`, as a gateway sends its own.
   * `channelCredentials`: TLS to a port that speaks it (grpcChannelCredentials of
   * @paygate/config, as a gateway builds its own); plaintext by default.
   */
  constructor(
    port: number,
    private readonly token?: string,
    channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {
    const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
    const pkg = loadPackageDefinition(definition) as unknown as Package;
    this.stub = new pkg.paygate.entitlement.v1.EntitlementService(
      `127.0.0.1:${port}`,
      channelCredentials,
    );
  }

  /** A decision for one request of `cost` units (a lease of exactly `cost` unless `leaseUnits`). */
  check(apiKey: string, cost = 1, feature = 'requests', leaseUnits = 0): Promise<CheckResponse> {
    return new Promise((resolve, reject) =>
      this.stub.check(
        { apiKey, feature, cost, requestId: randomUUID(), requiredScopes: [], leaseUnits },
        this.metadata(),
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  }

  /** Closes a lease: every unit not given back (`units`) is charged as served. */
  release(leaseId: string, reason: string, units = 0, close = false): Promise<ReleaseResponse> {
    return new Promise((resolve, reject) =>
      this.stub.release({ leaseId, reason, units, close }, this.metadata(), (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  /** Credits a payment a gateway verified (see RecordPayment in the proto). */
  recordPayment(request: RecordPaymentRequest): Promise<RecordPaymentResponse> {
    return new Promise((resolve, reject) =>
      this.stub.recordPayment(request, this.metadata(), (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  close(): void {
    this.stub.close();
  }
}
