import { Controller, Get, HttpCode, Inject, Logger, Optional } from '@nestjs/common';
import { within } from './within';
import { ProblemException } from '@paygate/problem-details';

/** Something the service needs before it can take traffic (database, broker...). */
export interface ReadinessCheck {
  name: string;
  /** Throws a ReadinessFailure to say why in words fit for the public port. */
  check(): Promise<void>;
}

/**
 * Why a check fails, written by the check for `/ready`'s `reasons`, which anyone who reaches
 * the service's port can read: counts, states and ages, never an address, host name or
 * credential. Any other error (a database driver's, say "connect ECONNREFUSED 10.0.3.7:5432")
 * is logged whole and answered only by its code.
 */
export class ReadinessFailure extends Error {
  override name = 'ReadinessFailure';
}

/** The public words for a failure: its own if it is a ReadinessFailure, else only its code. */
export function publicReason(err: unknown): string {
  if (err instanceof ReadinessFailure) return err.message.slice(0, 500);
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  // Codes are a driver's or the OS's constants (ECONNREFUSED, 57P01); anything else may be text.
  const shown = typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? ` (${code})` : '';
  return `unavailable${shown}; the service's log has the error`;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** A check that has not answered by then fails: a probe answers, never hangs (pool waits). */
export const READINESS_CHECK_TIMEOUT_MS = 2000;
/** Nest token to set another time (tests). */
export const READINESS_TIMEOUT_MS = Symbol('READINESS_TIMEOUT_MS');

@Controller()
export class HealthController {
  private readonly logger = new Logger('Readiness');
  /** The kind of error last logged per failing check: a probe every few seconds logs a change once. */
  private readonly logged = new Map<string, string>();

  constructor(
    @Optional() @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[] = [],
    @Optional()
    @Inject(READINESS_TIMEOUT_MS)
    private readonly timeoutMs: number = READINESS_CHECK_TIMEOUT_MS,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  @HttpCode(200)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers. */
  @Get('ready')
  async ready(): Promise<{ status: 'ready'; checks: Record<string, 'ok'> }> {
    const results: Record<string, string> = {};
    // Why each failing check fails, in its own words (never a stack trace).
    const reasons: Record<string, string> = {};
    await Promise.all(
      this.checks.map(async (c) => {
        try {
          await within(
            this.timeoutMs,
            c.check(),
            () => new ReadinessFailure(`${c.name} did not answer within ${this.timeoutMs} ms`),
          );
          results[c.name] = 'ok';
          this.logged.delete(c.name);
        } catch (err) {
          results[c.name] = 'failing';
          reasons[c.name] = publicReason(err);
          this.log(c.name, err);
        }
      }),
    );
    const failing = Object.entries(results).filter(([, v]) => v !== 'ok');
    if (failing.length > 0) {
      throw new ProblemException({
        code: 'service-unavailable',
        detail: `Not ready: ${failing.map(([k]) => k).join(', ')}`,
        extensions: { checks: results, reasons },
      });
    }
    return { status: 'ready', checks: results as Record<string, 'ok'> };
  }

  /**
   * The whole error, for the operator (the log is not on the public port), once per kind of
   * failure: the same words with other numbers (a lag, an age that grows) are the same kind.
   */
  private log(name: string, err: unknown): void {
    const message = String((err as Error)?.message ?? err);
    const kind = message.replace(/\d+(\.\d+)?/g, '#');
    if (this.logged.get(name) === kind) return;
    this.logged.set(name, kind);
    this.logger.warn(`readiness check ${name} fails: ${message}`);
  }
}
