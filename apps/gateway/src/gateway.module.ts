import { DynamicModule, Module } from '@nestjs/common';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { grpcChannelCredentials } from '@paygate/config';
import {
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
} from '@paygate/contracts';
import {
  AdminListenerModule,
  HealthController,
  MetricsController,
  READINESS_CHECKS,
  adminListenerOptions,
  loggerModule,
  tlsReload,
} from '@paygate/observability';
import { gatewayReadiness } from './health/gateway-readiness';
import { GatewayConfig } from './config/gateway.config';
import { ENTITLEMENT_CLIENT, EntitlementClient } from './decisions/entitlement.client';
import { EntitlementChangesListener } from './leases/entitlement-changes.listener';
import { LeasesService } from './leases/leases.service';
import { RateLimitsService } from './rate-limits/rate-limits.service';
import { ConcurrencyLimitsService } from './concurrency/concurrency-limits.service';
import { ChargeSettlement } from './payments/charge-settlement';
import { PAYMENT_FACILITATOR, PaymentAcceptance } from './payments/payment-acceptance';
import { PaymentOffers } from './payments/payment-offers';
import { PayAndRetry } from './payments/pay-and-retry';
import { UncreditedPayments } from './payments/uncredited-payments';
import { UptoAuthorizations } from './payments/upto-authorizations';
import { UptoSettlements } from './payments/upto-settlements';
import {
  FacilitatorRouter,
  HttpFacilitator,
  TEST_NETWORK,
  TestFacilitator,
} from '@paygate/payments';
import { ProxyHandler } from './proxy/proxy.handler';
import { UpstreamForwarder } from './proxy/upstream-forwarder';
import { RoutesService } from './routes/routes.service';
import { UsagePublisher } from './usage/usage.publisher';
import { ServedUsage } from './usage/served-usage';

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        // Access lines come from registerAccessLog; see LoggerOptions.requestScoped.
        loggerModule('gateway', config.LOG_LEVEL, {
          requestScoped: false,
          bufferBytes: config.LOG_BUFFER_BYTES,
        }),
        // /metrics (402s per customer) on its own listener, not on the proxy's public port.
        AdminListenerModule.forRoot(adminListenerOptions(config)),
        ClientsModule.register([
          {
            name: ENTITLEMENT_CLIENT,
            transport: Transport.GRPC,
            options: {
              package: ENTITLEMENT_GRPC_PACKAGE,
              protoPath: ENTITLEMENT_PROTO_PATH,
              url: config.ENTITLEMENT_GRPC_URL,
              loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
              // Plaintext, or TLS (ENTITLEMENT_GRPC_TLS, _CA_FILE, _CERT_FILE): the files are
              // read here, at start, and a bad one stops the gateway naming its variable;
              // renewed ones are taken later without a restart (ENTITLEMENT_GRPC_TLS_RELOAD_MS).
              credentials: grpcChannelCredentials(
                config.entitlementGrpcTlsSettings,
                tlsReload('entitlement gRPC link', config.ENTITLEMENT_GRPC_TLS_RELOAD_MS),
              ),
              channelOptions: {
                // Found again within two seconds of coming back: grpc-js otherwise backs off
                // up to 120 s after failed connects (a gateway started before the service, a
                // restart), failing every request and settlement round in between.
                'grpc.initial_reconnect_backoff_ms': 250,
                'grpc.max_reconnect_backoff_ms': 2000,
                // The name the service's certificate is checked against (and the SNI sent).
                ...(config.ENTITLEMENT_GRPC_SERVER_NAME === undefined
                  ? {}
                  : { 'grpc.ssl_target_name_override': config.ENTITLEMENT_GRPC_SERVER_NAME }),
              },
            },
          },
        ]),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: GatewayConfig, useValue: config },
        {
          provide: READINESS_CHECKS,
          inject: [EntitlementClient, UsagePublisher, EntitlementChangesListener, RoutesService],
          useFactory: (
            entitlement: EntitlementClient,
            usage: UsagePublisher,
            changes: EntitlementChangesListener,
            routes: RoutesService,
          ) => gatewayReadiness(entitlement, usage, changes, () => routes.table),
        },
        RoutesService,
        EntitlementClient,
        LeasesService,
        EntitlementChangesListener,
        UsagePublisher,
        ServedUsage,
        ProxyHandler,
        UpstreamForwarder,
        RateLimitsService,
        ConcurrencyLimitsService,
        PaymentOffers,
        PaymentAcceptance,
        ChargeSettlement,
        PayAndRetry,
        UptoAuthorizations,
        UncreditedPayments,
        UptoSettlements,
        {
          // paygate:test only when enabled (its settlements live in this process: demos and
          // tests); every other network through its x402 facilitator (PAYMENT_FACILITATORS).
          provide: PAYMENT_FACILITATOR,
          useFactory: () =>
            new FacilitatorRouter(
              config.PAYMENT_TEST_METHOD
                ? { [TEST_NETWORK]: new TestFacilitator({ enabled: true }) }
                : {},
              config.facilitators.size > 0
                ? new HttpFacilitator({ facilitators: Object.fromEntries(config.facilitators) })
                : undefined,
            ),
        },
      ],
    };
  }
}
