import {
  type Client,
  type ServiceError,
  Metadata,
  credentials,
  loadPackageDefinition,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import {
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
} from '@paygate/contracts';
import { createServer } from 'node:net';
import { DataSource } from 'typeorm';
import { BillingLinks } from '../../apps/entitlement/src/billing/billing-links';
import { CheckUseCase } from '../../apps/entitlement/src/decisions/check.use-case';
import { EntitlementGrpcController } from '../../apps/entitlement/src/decisions/entitlement.grpc.controller';
import { LeaseSettlementService } from '../../apps/entitlement/src/leases/lease-settlement.service';
import type { EntitlementFixture } from './entitlement.fixture';
import { PaymentSettlementsUseCase } from '../../apps/entitlement/src/direct-payments/payment-settlements.use-case';
import { RecordPaymentUseCase } from '../../apps/entitlement/src/direct-payments/record-payment.use-case';
import { RateWindowsGrpcController } from '../../apps/entitlement/src/rate-windows/rate-windows.grpc.controller';
import { TakeRateWindowUseCase } from '../../apps/entitlement/src/rate-windows/take-rate-window.use-case';
import { ConcurrencyGrpcController } from '../../apps/entitlement/src/concurrency/concurrency.grpc.controller';
import { HoldConcurrencyUseCase } from '../../apps/entitlement/src/concurrency/hold-concurrency.use-case';
import { GRPC_TOKENS } from '../../apps/entitlement/src/grpc/grpc-token.guard';

/** The unary methods the direct-payment and limit specs call, as grpc-js names them. */
type Method =
  | 'check'
  | 'recordPayment'
  | 'claimSettlements'
  | 'completeSettlement'
  | 'takeRateWindow'
  | 'holdConcurrency';
type Callback = (err: ServiceError | null, response: unknown) => void;
type Stub = Client &
  Record<Method, (request: object, metadata: Metadata, callback: Callback) => void>;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/**
 * The entitlement gRPC controller over the real proto and Nest's gRPC server, on an
 * EntitlementFixture's services, and a plain grpc-js client of it.
 */
export class EntitlementGrpcFixture {
  private constructor(
    private readonly app: INestMicroservice,
    private readonly stub: Stub,
  ) {}

  /** `grpcTokens`: the port's GRPC_TOKENS (none: it takes every call, as most specs need). */
  static async start(
    fx: EntitlementFixture,
    grpcTokens: readonly string[] = [],
  ): Promise<EntitlementGrpcFixture> {
    @Module({
      controllers: [
        EntitlementGrpcController,
        RateWindowsGrpcController,
        ConcurrencyGrpcController,
      ],
      providers: [
        { provide: CheckUseCase, useValue: fx.check },
        { provide: LeaseSettlementService, useValue: fx.settlement },
        { provide: DataSource, useValue: fx.dataSource },
        { provide: BillingLinks, useValue: {} },
        { provide: RecordPaymentUseCase, useValue: fx.services.recordPayment },
        { provide: PaymentSettlementsUseCase, useValue: fx.services.paymentSettlements },
        { provide: TakeRateWindowUseCase, useValue: fx.services.takeRateWindow },
        { provide: HoldConcurrencyUseCase, useValue: fx.services.holdConcurrency },
        // The controllers' GrpcTokenGuard needs it: without it Nest's init fails, which ends
        // the Jest process rather than one spec.
        { provide: GRPC_TOKENS, useValue: grpcTokens },
      ],
    })
    class GrpcOnlyModule {}
    const url = `127.0.0.1:${await freePort()}`;
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(GrpcOnlyModule, {
      logger: false,
      transport: Transport.GRPC,
      options: {
        package: ENTITLEMENT_GRPC_PACKAGE,
        protoPath: ENTITLEMENT_PROTO_PATH,
        url,
        loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
      },
    });
    await app.listen();
    const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
    const pkg = loadPackageDefinition(definition) as unknown as {
      paygate: {
        entitlement: {
          v1: { EntitlementService: new (address: string, creds: unknown) => Stub };
        };
      };
    };
    const stub = new pkg.paygate.entitlement.v1.EntitlementService(
      url,
      credentials.createInsecure(),
    );
    return new EntitlementGrpcFixture(app, stub);
  }

  /** `token`: sent as metadata `authorization: Bearer <token>` (none when undefined). */
  call<T>(method: Method, request: object, token?: string): Promise<T> {
    const metadata = new Metadata();
    if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
    return new Promise<T>((resolve, reject) =>
      this.stub[method](request, metadata, (err, response) =>
        err ? reject(err) : resolve(response as T),
      ),
    );
  }

  /** The call's gRPC status code and details (OK and '' when it succeeded). */
  statusOf(
    method: Method,
    request: object,
    token?: string,
  ): Promise<{ code: status; details: string }> {
    return this.call(method, request, token).then(
      () => ({ code: status.OK, details: '' }),
      (err: ServiceError) => ({ code: err.code, details: err.details }),
    );
  }

  async close(): Promise<void> {
    this.stub.close();
    await this.app.close();
  }
}
