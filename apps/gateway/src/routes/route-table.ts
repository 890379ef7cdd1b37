import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '@paygate/problem-details';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { RouteDefinition, RouteTable, TEST_PAYMENT_NETWORK } from './route';

export class RouteTableError extends Error {}

/**
 * Parses and validates a route table, YAML when the origin ends in .yaml/.yml and JSON
 * otherwise; any mistake is an error naming the field.
 */
export function parseRouteTable(text: string, origin: string): RouteDefinition[] {
  const yaml = /\.ya?ml$/i.test(origin);
  let raw: unknown;
  try {
    raw = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new RouteTableError(
      `${origin}: not valid ${yaml ? 'YAML' : 'JSON'} (${(err as Error).message})`,
    );
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

/** What the gateway's config says about direct payments, for checking a route table. */
export interface PaymentSettings {
  challengeSecret?: string;
  testMethod: boolean;
  /** Networks with a configured facilitator. */
  facilitatorNetworks: string[];
  /** How long an offer can be paid (PAYMENT_CHALLENGE_TTL_SECONDS). */
  challengeTtlSeconds?: number;
}

/** Seconds between an `upto` hold's end and when its payment stops being valid, at least. */
export const UPTO_SETTLE_MARGIN_SECONDS = 30;
/** How long an `upto` authorization's credits stay spendable unless the route says. */
export const UPTO_DEFAULT_HOLD_SECONDS = 60;

export function loadRouteTable(path: string, payments?: PaymentSettings): RouteDefinition[] {
  const routes = parseRouteTable(readFileSync(path, 'utf8'), path);
  if (payments) checkPayableRoutes(routes, payments, path);
  return routes;
}

/**
 * A priced route must be payable: a challenge secret to sign its offers, and for each asset's
 * network either the enabled test method or a facilitator to verify and settle with.
 */
export function checkPayableRoutes(
  routes: RouteDefinition[],
  payments: PaymentSettings,
  origin: string,
): void {
  const problems: string[] = [];
  for (const route of routes) {
    if (!route.price) continue;
    if (!payments.challengeSecret)
      problems.push(`${route.name}: has a price but PAYMENT_CHALLENGE_SECRET is not set`);
    // An anonymous call is admitted by the credits its payment bought: a free one would take
    // the payment and charge nothing for the call.
    if (route.price.anonymousPlan && route.cost < 1)
      problems.push(`${route.name}: anonymousPlan needs a cost of at least 1`);
    // Scopes belong to API keys; an anonymous payer has none, so they would not hold.
    if (route.price.anonymousPlan && (route.scopes?.length ?? 0) > 0)
      problems.push(`${route.name}: anonymousPlan cannot go with scopes`);
    // A payment signed for the offer's lifetime must outlive the hold and its settlement.
    const hold = route.price.upto ? (route.price.upto.holdSeconds ?? UPTO_DEFAULT_HOLD_SECONDS) : 0;
    if (hold > 0 && payments.challengeTtlSeconds !== undefined) {
      const needed = hold + UPTO_SETTLE_MARGIN_SECONDS;
      if (payments.challengeTtlSeconds < needed)
        problems.push(
          `${route.name}: upto.holdSeconds ${hold} needs PAYMENT_CHALLENGE_TTL_SECONDS of at least ${needed}`,
        );
    }
    for (const asset of route.price.assets) {
      if (asset.network === TEST_PAYMENT_NETWORK) {
        if (!payments.testMethod)
          problems.push(`${route.name}: ${TEST_PAYMENT_NETWORK} needs PAYMENT_TEST_METHOD=true`);
      } else if (!payments.facilitatorNetworks.includes(asset.network)) {
        problems.push(`${route.name}: no PAYMENT_FACILITATORS entry for ${asset.network}`);
      }
    }
  }
  if (problems.length > 0)
    throw new RouteTableError(`${origin}: routes that cannot be paid\n  ${problems.join('\n  ')}`);
}

export interface RouteRequest {
  path: string;
  /** Host header (a port is ignored); undefined matches only routes without hosts. */
  host?: string;
  method?: string;
}

export type RouteMatch =
  { route: RouteDefinition } | { route: undefined; allowedMethods: string[] };

function hostMatches(route: RouteDefinition, host: string | undefined): boolean {
  if (!route.hosts || route.hosts.length === 0) return true;
  if (!host) return false;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return route.hosts.some((h) => {
    const pattern = h.toLowerCase();
    return pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) : name === pattern;
  });
}

function prefixMatches(route: RouteDefinition, path: string): boolean {
  const prefix = route.pathPrefix.endsWith('/') ? route.pathPrefix.slice(0, -1) : route.pathPrefix;
  return path === prefix || path.startsWith(prefix + '/') || prefix === '';
}

/** More specific first: a longer prefix, then a route bound to hosts over one for any host. */
function moreSpecific(a: RouteDefinition, b: RouteDefinition): boolean {
  if (a.pathPrefix.length !== b.pathPrefix.length) return a.pathPrefix.length > b.pathPrefix.length;
  return (a.hosts?.length ?? 0) > 0 && (b.hosts?.length ?? 0) === 0;
}

/**
 * The most specific route for host and path whose methods include the request's. When routes
 * match host and path but none takes the method, their methods are returned (a 405).
 */
export function matchRoute(routes: RouteDefinition[], request: RouteRequest): RouteMatch {
  let best: RouteDefinition | undefined;
  const allowed = new Set<string>();
  for (const route of routes) {
    if (!prefixMatches(route, request.path) || !hostMatches(route, request.host)) continue;
    const method = request.method?.toUpperCase();
    if (route.methods && method && !route.methods.includes(method)) {
      route.methods.forEach((m) => allowed.add(m));
      continue;
    }
    if (!best || moreSpecific(route, best)) best = route;
  }
  return best ? { route: best } : { route: undefined, allowedMethods: [...allowed].sort() };
}

/** Where a request goes: the upstream's origin (one connection pool each) and the path. */
export interface UpstreamTarget {
  origin: string;
  /** Path and query string on the upstream. */
  path: string;
}

// A route's upstream URL parsed once, not per request.
const parsedUpstreams = new WeakMap<RouteDefinition, { origin: string; basePath: string }>();

function parsedUpstream(route: RouteDefinition): { origin: string; basePath: string } {
  let parsed = parsedUpstreams.get(route);
  if (!parsed) {
    const url = new URL(route.upstream);
    parsed = { origin: url.origin, basePath: url.pathname.replace(/\/$/, '') };
    parsedUpstreams.set(route, parsed);
  }
  return parsed;
}

/** The upstream origin and path for a request path (with its query string). */
export function upstreamTarget(route: RouteDefinition, url: string): UpstreamTarget {
  const { origin, basePath } = parsedUpstream(route);
  let rest = url;
  if (route.stripPrefix) {
    const prefix = route.pathPrefix.endsWith('/')
      ? route.pathPrefix.slice(0, -1)
      : route.pathPrefix;
    rest = url.slice(prefix.length);
    if (rest === '' || rest.startsWith('?')) rest = '/' + rest;
  }
  return { origin, path: basePath + rest };
}
