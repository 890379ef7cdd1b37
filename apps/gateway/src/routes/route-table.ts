import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '@paygate/problem-details';
import { readFileSync } from 'node:fs';
import { RouteDefinition, RouteTable } from './route';

export class RouteTableError extends Error {}

/** Parses and validates a route table; any mistake stops the gateway at start, naming the field. */
export function parseRouteTable(json: string, origin: string): RouteDefinition[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new RouteTableError(`${origin}: not valid JSON (${(err as Error).message})`);
  }
  const table = plainToInstance(RouteTable, raw);
  const errors = validateSync(table, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const fields = flattenValidationErrors(errors).map(
      (f) => `${f.field}: ${f.messages.join(', ')}`,
    );
    throw new RouteTableError(`${origin}: invalid route table\n  ${fields.join('\n  ')}`);
  }
  const names = table.routes.map((r) => r.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new RouteTableError(`${origin}: route name ${duplicate} is used twice`);
  return table.routes;
}

export function loadRouteTable(path: string): RouteDefinition[] {
  return parseRouteTable(readFileSync(path, 'utf8'), path);
}

/** Longest matching prefix wins; a prefix matches whole path segments only. */
export function matchRoute(routes: RouteDefinition[], path: string): RouteDefinition | undefined {
  let best: RouteDefinition | undefined;
  for (const route of routes) {
    const prefix = route.pathPrefix.endsWith('/')
      ? route.pathPrefix.slice(0, -1)
      : route.pathPrefix;
    const matches = path === prefix || path.startsWith(prefix + '/') || prefix === '';
    if (matches && (!best || route.pathPrefix.length > best.pathPrefix.length)) best = route;
  }
  return best;
}

/** The upstream URL for a request path (with its query string). */
export function upstreamUrl(route: RouteDefinition, url: string): string {
  const base = route.upstream.endsWith('/') ? route.upstream.slice(0, -1) : route.upstream;
  let rest = url;
  if (route.stripPrefix) {
    const prefix = route.pathPrefix.endsWith('/')
      ? route.pathPrefix.slice(0, -1)
      : route.pathPrefix;
    rest = url.slice(prefix.length);
    if (rest === '' || rest.startsWith('?')) rest = '/' + rest;
  }
  return base + rest;
}
