import {
  type Client,
  type ServiceError,
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
  type RecordPaymentRequest,
  type RecordPaymentResponse,
} from '@paygate/contracts';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { BillingLinks } from '../billing/billing-links';
import { CheckUseCase } from '../decisions/check.use-case';
import { EntitlementGrpcController } from '../decisions/entitlement.grpc.controller';
import { LeaseSettlementService } from '../decisions/lease-settlement.service';
import { EntitlementFixture } from '../entitlement.fixture';
import { RecordPaymentUseCase } from './record-payment.use-case';

type Stub = Client & {
  recordPayment(
    request: Record<string, unknown>,
    callback: (err: ServiceError | null, response: RecordPaymentResponse) => void,
  ): void;
};

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** RecordPayment over the real proto and Nest's gRPC server, with its status codes. */
describe('EntitlementService.RecordPayment over gRPC (real Postgres)', () => {
  let fx: EntitlementFixture;
  let app: INestMicroservice;
  let stub: Stub;

  beforeAll(async () => {
    fx = await EntitlementFixture.open(5);
    @Module({
      controllers: [EntitlementGrpcController],
      providers: [
        { provide: CheckUseCase, useValue: fx.check },
        { provide: LeaseSettlementService, useValue: fx.settlement },
        { provide: DataSource, useValue: fx.dataSource },
        { provide: BillingLinks, useValue: {} },
        { provide: RecordPaymentUseCase, useValue: fx.services.recordPayment },
      ],
    })
    class GrpcOnlyModule {}
    const url = `127.0.0.1:${await freePort()}`;
    app = await NestFactory.createMicroservice<MicroserviceOptions>(GrpcOnlyModule, {
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
    stub = new pkg.paygate.entitlement.v1.EntitlementService(url, credentials.createInsecure());
  });
  afterAll(async () => {
    stub?.close();
    await app?.close();
    await fx?.close();
  });

  const call = (request: Record<string, unknown>) =>
    new Promise<RecordPaymentResponse>((resolve, reject) =>
      stub.recordPayment(request, (err, response) => (err ? reject(err) : resolve(response))),
    );
  const statusOf = (request: Record<string, unknown>) =>
    call(request).then(
      () => ({ code: status.OK, details: '' }),
      (err: ServiceError) => ({ code: err.code, details: err.details }),
    );

  const paymentFor = (customerId: string): RecordPaymentRequest => {
    const nonce = randomUUID();
    return {
      customerId,
      paymentId: `paygate:test:0xpayer:${nonce}`,
      credits: 12,
      network: 'paygate:test',
      asset: 'USD',
      amount: '123456789012345678901234567890',
      payer: '0xpayer',
      transaction: `tx-${nonce}`,
      requestId: `req-${nonce}`,
    };
  };

  it('records a payment, then answers its replay as replayed', async () => {
    const tenant = await fx.seedTenant({ credits: 1 });
    const payment = paymentFor(tenant.customerId);

    const first = await call({ ...payment });
    expect(first).toEqual({
      replayed: false,
      grantId: expect.any(String),
      balance: 13,
      customerId: tenant.customerId,
    });
    expect(await call({ ...payment })).toEqual({
      replayed: true,
      grantId: first.grantId,
      balance: 13,
      customerId: tenant.customerId,
    });
    const [row]: { amount: string }[] = await fx.dataSource.query(
      `SELECT "amount"::text AS "amount" FROM "entitlement"."direct_payments" WHERE "payment_id" = $1`,
      [payment.paymentId],
    );
    expect(row.amount).toBe(payment.amount);
  });

  it('maps an unknown customer to NOT_FOUND and bad fields to INVALID_ARGUMENT', async () => {
    const tenant = await fx.seedTenant({});
    expect(await statusOf({ ...paymentFor(randomUUID()) })).toMatchObject({
      code: status.NOT_FOUND,
    });
    const bad = await statusOf({ ...paymentFor(tenant.customerId), amount: '1.5' });
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('amount');
    // Fields left out arrive as proto3 defaults ('' and 0): refused, naming them.
    const empty = await statusOf({ customerId: tenant.customerId });
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toMatch(/paymentId.*credits.*network/);
    // An int64 past 2^53 − 1 cannot be a grant.
    const huge = await statusOf({ ...paymentFor(tenant.customerId), credits: '9007199254740993' });
    expect(huge).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(huge.details).toContain('credits');
    expect((await fx.credits.balance(tenant.customerId)).available).toBe(0);
  });
});
