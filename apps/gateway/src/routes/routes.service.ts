import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { counter } from '@paygate/observability';
import { unwatchFile, watchFile } from 'node:fs';
import { GatewayConfig } from '../config/gateway.config';
import { RouteDefinition } from './route';
import {
  RouteMatch,
  RouteRequest,
  UpstreamTarget,
  loadRouteTable,
  matchRoute,
  upstreamTarget,
} from './route-table';

const reloads = counter('paygate_gateway_route_reloads_total', 'Route table reloads by outcome', [
  'outcome',
]);

/**
 * The route table: validated at start (a bad file stops the gateway), then reloaded without a
 * restart when the file changes or on SIGHUP. A bad edit is refused and logged; the gateway
 * keeps serving the last good table.
 */
@Injectable()
export class RoutesService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RoutesService.name);
  private routes: RouteDefinition[];
  private readonly onHangup = () => this.reload('SIGHUP');

  constructor(@Inject(GatewayConfig) private readonly config: GatewayConfig) {
    this.routes = loadRouteTable(config.ROUTES_FILE, config.paymentSettings);
  }

  onModuleInit(): void {
    // Polling survives editors and config tools that replace the file instead of writing it.
    watchFile(this.config.ROUTES_FILE, { interval: this.config.ROUTES_POLL_MS }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) this.reload('file changed');
    });
    process.on('SIGHUP', this.onHangup);
  }

  onModuleDestroy(): void {
    unwatchFile(this.config.ROUTES_FILE);
    process.off('SIGHUP', this.onHangup);
  }

  /** Swaps in the file's table if it is valid; returns whether it did. */
  reload(cause: string): boolean {
    try {
      this.routes = loadRouteTable(this.config.ROUTES_FILE, this.config.paymentSettings);
      reloads.inc({ outcome: 'applied' });
      this.logger.log({ routes: this.routes.length, cause }, 'route table reloaded');
      return true;
    } catch (err) {
      reloads.inc({ outcome: 'refused' });
      this.logger.error(
        { err: (err as Error).message, cause },
        'route table refused; the previous one stays in force',
      );
      return false;
    }
  }

  /** The routes in force (the last table that loaded). */
  get table(): readonly RouteDefinition[] {
    return this.routes;
  }

  match(request: RouteRequest): RouteMatch {
    return matchRoute(this.routes, request);
  }

  upstreamTarget(route: RouteDefinition, url: string): UpstreamTarget {
    return upstreamTarget(route, url);
  }
}
