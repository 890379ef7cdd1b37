import 'reflect-metadata';
import fastifyStatic from '@fastify/static';
import { resolve } from 'node:path';
import { loadConfig } from '@paygate/config';
import { createHttpApp, run } from '@paygate/http';
import { GatewayConfig } from './config/gateway.config';
import { GatewayModule } from './gateway.module';
import { gatewayOpenApi } from './openapi/gateway-openapi';
import { AccessLog } from './proxy/access-log';
import { ProxyFrontDoor } from './proxy/proxy-front-door';
import { ProxyHandler } from './proxy/proxy.handler';
import { RoutesService } from './routes/routes.service';

async function bootstrap(): Promise<void> {
  const config = loadConfig(GatewayConfig);
  const accessLog = AccessLog.atLevel(config.LOG_LEVEL, config.LOG_BUFFER_BYTES);
  // Proxied requests go from Node's server to the ProxyHandler without Fastify (FrontDoor).
  const door = new ProxyFrontDoor(accessLog);
  const app = await createHttpApp(GatewayModule.forRoot(config), {
    bodyLimit: config.BODY_LIMIT_BYTES,
    rawBodies: true,
    problemStatuses: config.PROBLEM_STATUSES,
    frontDoor: door,
  });
  const fastify = app.getHttpAdapter().getInstance();
  accessLog?.register(fastify);
  if (config.DEMO_APP_DIR) {
    // Same origin as the API it calls, so the demo needs no CORS.
    await fastify.register(fastifyStatic, {
      root: resolve(config.DEMO_APP_DIR),
      prefix: '/_paygate/demo/',
    });
  }
  const routes = app.get(RoutesService);
  // What the gateway adds to the APIs behind it, for their callers (and their programs): the
  // current routes, their problems and payment headers. Nothing in it is secret.
  fastify.get('/_paygate/openapi.json', async () => gatewayOpenApi([...routes.table]));
  // Every path that is not one of the gateway's own (/health, /ready, /_paygate/…; /metrics is
  // on the admin listener) is proxied.
  door.open(app.get(ProxyHandler));
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
}

run(bootstrap);
