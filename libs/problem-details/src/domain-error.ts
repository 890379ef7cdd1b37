import type { ProblemCode } from '@paygate/contracts';

/**
 * Thrown by services for an expected failure (unknown id, conflicting state). Services know
 * nothing of HTTP or gRPC; each edge maps the code to its own status.
 */
export class DomainError extends Error {
  constructor(
    readonly code: Extract<
      ProblemCode,
      'not-found' | 'conflict' | 'validation-failed' | 'forbidden'
    >,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
