import 'reflect-metadata';
import { ConfigError, loadConfig } from '@paygate/config';
import { createHttpApp, operatorListener, run, serveOpenApi } from '@paygate/http';
import { adminListenerOptions, withAdminListener } from '@paygate/observability';
import { MeteringConfig } from './config/metering.config';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON } from './events/event-intake';
import { MeteringModule } from './metering.module';
import swaggerMetadata from './swagger-metadata';

async function bootstrap(): Promise<void> {
  const config = loadConfig(MeteringConfig);
  const windows = MeteringConfig.windowsError(config);
  if (windows) throw new ConfigError(`Invalid configuration:\n  ${windows}`);
  const app = await createHttpApp(
    // /metrics on the admin listener (127.0.0.1, HTTP_PORT + 1000), not on the public port.
    withAdminListener(MeteringModule.forRoot(config), adminListenerOptions(config)),
    {
      jsonContentTypes: [CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON],
      problemStatuses: config.PROBLEM_STATUSES,
    },
  );
  await serveOpenApi(app, {
    title: 'paygate metering',
    description: 'Meters, usage queries, dead letters and HTTP usage ingestion.',
    metadata: swaggerMetadata,
  });
  const operator = operatorListener(app, { config, isOperatorPath });
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  await operator.listen();
}

/**
 * The operator API (meters, usage, dead letters) and its documentation; `/events`, where other
 * services report usage with their service tokens, stays on the public listener.
 */
function isOperatorPath(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/') || path.startsWith('/v1/');
}

run(bootstrap);
