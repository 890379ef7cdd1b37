import { Inject, Injectable } from '@nestjs/common';
import { GatewayConfig } from '../config/gateway.config';
import { RouteDefinition } from './route';
import { loadRouteTable, matchRoute, upstreamUrl } from './route-table';

/** The route table, read and validated once at start. */
@Injectable()
export class RoutesService {
  private readonly routes: RouteDefinition[];

  constructor(@Inject(GatewayConfig) config: GatewayConfig) {
    this.routes = loadRouteTable(config.ROUTES_FILE);
  }

  match(path: string): RouteDefinition | undefined {
    return matchRoute(this.routes, path);
  }

  upstreamUrl(route: RouteDefinition, url: string): string {
    return upstreamUrl(route, url);
  }
}
