import {
  Controller,
  Inject,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ADMIN_LISTENER, AdminListenerOptions, AdminServer } from './admin-server';

/** One registry per process; apps add their domain metrics to it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export const httpRequestDuration = new Histogram({
  name: 'paygate_http_request_duration_seconds',
  help: 'HTTP request duration by route pattern, method and status',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [metricsRegistry],
});

export function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  return new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

export function gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
  return new Gauge({ name, help, labelNames, registers: [metricsRegistry] });
}

export function histogram(
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets?: number[],
): Histogram<string> {
  return new Histogram({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    ...(buckets ? { buckets } : {}),
  });
}

/**
 * Serves `/metrics` on the admin listener (AdminListenerModule: 127.0.0.1 and HTTP_PORT + 1000
 * by default), never on the app's public port: the metrics name customers. A controller with
 * no public route, so that every app module that lists it gets the listener, started with the
 * app and closed with it.
 */
@Controller()
export class MetricsController implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server: AdminServer;

  constructor(@Inject(ADMIN_LISTENER) options: AdminListenerOptions) {
    this.server = new AdminServer(options, metricsRegistry);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.server.start();
    const address = this.server.address();
    new Logger('AdminServer').log(
      `/metrics on http://${address?.host}:${address?.port} (admin listener, not the public port)`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.close();
  }
}
