import {
  Controller,
  Inject,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ADMIN_LISTENER, AdminListenerOptions, AdminServer } from './admin-server';
import { HotCounter, HotHistogram } from './hot-metrics';

/** One registry per process; apps add their domain metrics to it. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

/** Every request a service answers; observed on every request, so a HotHistogram. */
export const httpRequestDuration = new HotHistogram(
  'paygate_http_request_duration_seconds',
  'HTTP request duration by route pattern, method and status',
  ['method', 'route', 'status'],
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  metricsRegistry,
);

/** prom-client's default buckets, for a histogram that names none. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter updated on every request of a hot path (see HotCounter). */
export function hotCounter(name: string, help: string, labelNames: string[] = []): HotCounter {
  return new HotCounter(name, help, labelNames, metricsRegistry);
}

/** A histogram observed on every request of a hot path (see HotHistogram). */
export function hotHistogram(
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets: number[] = DEFAULT_BUCKETS,
): HotHistogram {
  return new HotHistogram(name, help, labelNames, buckets, metricsRegistry);
}

export function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  return new Counter({ name, help, labelNames, registers: [metricsRegistry] });
}

/** `collect`, if given, sets the gauge's values at each scrape (from state read then). */
export function gauge(
  name: string,
  help: string,
  labelNames: string[] = [],
  collect?: (this: Gauge<string>) => void | Promise<void>,
): Gauge<string> {
  return new Gauge({ name, help, labelNames, registers: [metricsRegistry], collect });
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
