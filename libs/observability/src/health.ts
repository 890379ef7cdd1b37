import { Controller, Get, HttpCode, Inject, Optional } from '@nestjs/common';
import { ProblemException } from '@paygate/problem-details';

/** Something the service needs before it can take traffic (database, broker...). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** A check that has not answered by then fails: a probe answers, never hangs (pool waits). */
export const READINESS_CHECK_TIMEOUT_MS = 2000;
/** Nest token to set another time (tests). */
export const READINESS_TIMEOUT_MS = Symbol('READINESS_TIMEOUT_MS');

/** The check's outcome, or a failure once it has not answered within the time. */
async function withinTime(check: ReadinessCheck, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${check.name} did not answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([check.check(), late]);
  } finally {
    clearTimeout(timer);
  }
}

@Controller()
export class HealthController {
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
          await withinTime(c, this.timeoutMs);
          results[c.name] = 'ok';
        } catch (err) {
          results[c.name] = 'failing';
          reasons[c.name] = String((err as Error)?.message ?? err).slice(0, 500);
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
}
