import 'reflect-metadata';
import { grpcServerCredentials, loadConfig } from '@paygate/config';
import {
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
} from '@paygate/contracts';
import { createHttpApp, operatorListener, run, serveOpenApi } from '@paygate/http';
import { adminListenerOptions, tlsReload, withAdminListener } from '@paygate/observability';
import { Logger } from '@nestjs/common';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { EntitlementConfig } from './config/entitlement.config';
import { EntitlementModule } from './entitlement.module';
import { openGrpcPortWarning } from './grpc/grpc-token.guard';
import swaggerMetadata from './swagger-metadata';

async function bootstrap(): Promise<void> {
  const config = loadConfig(EntitlementConfig);
  // Read now: a bad certificate or key stops the service before it opens any port. Renewed
  // files are taken later without a restart (GRPC_TLS_RELOAD_MS).
  const grpcCredentials = grpcServerCredentials(
    config.grpcTls,
    tlsReload('gRPC port', config.GRPC_TLS_RELOAD_MS),
  );
  // Raw bodies are kept so webhook signatures can be verified over the exact bytes.
  const app = await createHttpApp(
    // /metrics on the admin listener (127.0.0.1, HTTP_PORT + 1000), not on the public port.
    withAdminListener(EntitlementModule.forRoot(config), adminListenerOptions(config)),
    {
      rawBody: true,
      problemStatuses: config.PROBLEM_STATUSES,
    },
  );
  const openPort = openGrpcPortWarning(config.GRPC_URL, {
    tokens: config.GRPC_TOKENS,
    tls: config.GRPC_TLS_CERT_FILE !== undefined,
    clientCa: config.GRPC_TLS_CLIENT_CA_FILE !== undefined,
  });
  const grpcLog = new Logger('EntitlementGrpc');
  if (openPort) grpcLog.warn(openPort);
  if (config.GRPC_TLS_CERT_FILE !== undefined)
    grpcLog.log(
      config.GRPC_TLS_CLIENT_CA_FILE === undefined
        ? 'the gRPC port speaks TLS only'
        : 'the gRPC port speaks TLS only, to clients with a certificate of GRPC_TLS_CLIENT_CA_FILE',
    );
  // gRPC edge: validation and error mapping live in its controller, not in the HTTP filter.
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.GRPC,
    options: {
      package: ENTITLEMENT_GRPC_PACKAGE,
      protoPath: ENTITLEMENT_PROTO_PATH,
      url: config.GRPC_URL,
      // TLS only when GRPC_TLS_CERT_FILE is set (mutual with GRPC_TLS_CLIENT_CA_FILE).
      credentials: grpcCredentials,
      loader: { ...ENTITLEMENT_PROTO_LOADER_OPTIONS },
      // Decisions in flight from gateways finish on shutdown instead of being cancelled.
      gracefulShutdown: true,
    },
  });
  await serveOpenApi(app, {
    title: 'paygate entitlement',
    description:
      'Operator API: customers, API keys, plans, subscriptions, grants, balances and usage.',
    metadata: swaggerMetadata,
  });
  const operator = operatorListener(app, { config, isOperatorPath });
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  await operator.listen();
}

/**
 * The operator API and its documentation; the payment provider's webhooks under /v1 are for
 * the public listener too.
 */
function isOperatorPath(path: string): boolean {
  if (path === '/docs' || path.startsWith('/docs/')) return true;
  return path.startsWith('/v1/') && !path.startsWith('/v1/webhooks/');
}

run(bootstrap);
