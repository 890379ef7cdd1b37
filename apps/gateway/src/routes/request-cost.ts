import type { IncomingHttpHeaders } from 'node:http';
import type { RouteDefinition } from './route';

export type CostResult = { ok: true; cost: number } | { ok: false; field: string; message: string };

/** The units a request costs on its route: fixed, from a header, or from its body size. */
export function requestCost(route: RouteDefinition, headers: IncomingHttpHeaders): CostResult {
  const rule = route.costFrom;
  if (!rule) return { ok: true, cost: route.cost };
  if (rule.header) {
    const raw = headers[rule.header.toLowerCase()];
    if (raw === undefined) return { ok: true, cost: route.cost };
    const text = Array.isArray(raw) ? raw[0] : raw;
    // Decimal digits only: Number() reads `1e2`, `0x10` and an empty value as 100, 16 and 0.
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < route.cost || value > rule.max) {
      return {
        ok: false,
        field: rule.header,
        message: `must be a whole number of units from ${route.cost} to ${rule.max}`,
      };
    }
    return { ok: true, cost: value };
  }
  if (rule.perBodyBytes) {
    const length = Number(headers['content-length']);
    if (headers['content-length'] === undefined || !Number.isSafeInteger(length) || length < 0) {
      return { ok: false, field: 'content-length', message: 'is required on this route' };
    }
    const units = Math.max(route.cost, Math.ceil(length / rule.perBodyBytes));
    if (units > rule.max) {
      return {
        ok: false,
        field: 'content-length',
        message: `costs ${units} units, more than the ${rule.max} one request may`,
      };
    }
    return { ok: true, cost: units };
  }
  return { ok: true, cost: route.cost };
}
