import 'reflect-metadata';
import fastifyStatic from '@fastify/static';
import { resolve } from 'node:path';
import { loadConfig } from '@paygate/config';
import { SUPPORTED_METHODS, createHttpApp, run } from '@paygate/http';
import { GatewayConfig } from './config/gateway.config';
import { GatewayModule } from './gateway.module';
import { gatewayOpenApi } from './openapi/gateway-openapi';
import { registerAccessLog } from './proxy/access-log';
import { ProxyHandler } from './proxy/proxy.handler';
import { RoutesService } from './routes/routes.service';

async function bootstrap(): Promise<void> {
  const config = loadConfig(GatewayConfig);
  const app = await createHttpApp(GatewayModule.forRoot(config), {
    bodyLimit: config.BODY_LIMIT_BYTES,
    rawBodies: true,
    problemStatuses: config.PROBLEM_STATUSES,
  });
  const fastify = app.getHttpAdapter().getInstance();
  registerAccessLog(fastify, config.LOG_LEVEL);
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
  const proxy = app.get(ProxyHandler);
  // Every path that is not one of the gateway's own endpoints (/health, /ready; /metrics is on
  // the admin listener) is proxied; static routes win over this wildcard in Fastify's router.
  fastify.route({
    // Every method paygate implements; any other is a 501 before routing (http-edge.ts).
    method: [...SUPPORTED_METHODS],
    url: '/*',
    // Returning the reply tells Fastify the answer is sent later (by the proxy), not now.
    handler: async (request, reply) => {
      await proxy.handle(request, reply);
      return reply;
    },
  });
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
}

run(bootstrap);
