import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

export class ConfigError extends Error {}

/**
 * Builds one validated config object from the environment. This is the only place an app
 * reads process.env; a bad value stops the process at start with every failing variable named.
 */
export function loadConfig<T extends object>(
  ConfigClass: new () => T,
  env: Record<string, string | undefined> = process.env,
): T {
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  // Numbers are written in decimal: `1e3`, `0x10` or ` 5` would pass as 1000, 16 and 5.
  const notDecimal = Object.entries(defined).filter(
    ([key, value]) =>
      Reflect.getMetadata('design:type', ConfigClass.prototype, key) === Number &&
      !/^-?\d+(\.\d+)?$/.test(String(value)),
  );
  const config = plainToInstance(ConfigClass, defined, {
    enableImplicitConversion: true,
    exposeDefaultValues: true,
  });
  const errors = validateSync(config, { whitelist: false, forbidUnknownValues: true });
  if (errors.length > 0 || notDecimal.length > 0) {
    const named = new Set(errors.map((e) => e.property));
    const lines = [
      ...errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`),
      ...notDecimal
        .filter(([key]) => !named.has(key))
        .map(([key]) => `  ${key}: must be a decimal number`),
    ];
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}

/** A list member that is decimal digits as its number, anything else NaN (refused by @IsInt). */
export function decimalInteger(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

/** Comma-separated list from an env var ("a:1,b:2" → ["a:1", "b:2"]). */
export function csv(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A boolean variable (`@Transform(envBoolean)` with `@IsBoolean()`): `true`, `1` or `yes` is
 * true and `false`, `0` or `no` false, in any case; anything else stays as given, so that
 * `@IsBoolean()` refuses it naming the variable (a typo must not quietly mean false, which
 * for ENTITLEMENT_GRPC_TLS would send tokens and keys in clear). Read from the string as
 * given: implicit conversion makes any non-empty string, "false" too, true before a
 * transform sees the value.
 */
export function envBoolean({ obj, key }: { obj: Record<string, unknown>; key: string }): unknown {
  const value = obj[key];
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(word)) return true;
  if (['false', '0', 'no'].includes(word)) return false;
  return value;
}
