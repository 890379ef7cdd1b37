import type { CheckResponse } from '@paygate/contracts';

/**
 * Caveats on allowed requests, e.g. `subscription-past-due; until="2026-12-01T00:00:00.000Z"`
 * or `soft-limit-reached; used=80; limit=100; until="…"`.
 */
export const WARNING_HEADER = 'paygate-warning';

/** The decision's warnings as one `Paygate-Warning` value, or undefined when it has none. */
export function warningHeader(decision: CheckResponse): string | undefined {
  const warnings = decision.warnings ?? [];
  if (warnings.length === 0) return undefined;
  return warnings
    .map((w) => {
      const params = [
        w.used !== undefined ? `used=${w.used}` : '',
        w.limit !== undefined ? `limit=${w.limit}` : '',
        w.until ? `until="${w.until}"` : '',
      ].filter(Boolean);
      return [w.code, ...params].join('; ');
    })
    .join(', ');
}
