import 'reflect-metadata';
import { loadConfig } from '@paygate/config';
import { createHttpApp, run } from '@paygate/http';
import { MeteringConfig } from './config/metering.config';
import { MeteringModule } from './metering.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig(MeteringConfig);
  const app = await createHttpApp(MeteringModule.forRoot(config));
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
}

run(bootstrap);
