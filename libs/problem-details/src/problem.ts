import type { ProblemCode } from '@paygate/contracts';
import { PROBLEM_REGISTRY, PROBLEM_TYPE_BASE, renderDetail, upperSnake } from './problem-registry';

/** RFC 9457 problem details body, with paygate's extension members. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  requestId: string;
  [extension: string]: unknown;
}

export interface ProblemInput {
  code: ProblemCode;
  /** Overrides the registry's rendered detail (e.g. which field is missing). */
  detail?: string;
  /** Extension members: numbers behind the decision, failing fields, link... */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Thrown by edges (never by domain services) to answer with a problem. */
export class ProblemException extends Error {
  constructor(readonly problem: ProblemInput) {
    super(problem.detail ?? problem.code);
  }
}

export function buildProblem(
  input: ProblemInput,
  context: { instance: string; requestId: string },
): ProblemBody {
  const definition = PROBLEM_REGISTRY[input.code];
  const extensions = Object.fromEntries(
    Object.entries(input.extensions ?? {}).filter(
      ([, v]) => v !== undefined && v !== null && v !== '',
    ),
  );
  return {
    type: `${PROBLEM_TYPE_BASE}${input.code}`,
    title: definition.title,
    status: definition.status,
    detail: input.detail ?? renderDetail(definition.detail, extensions),
    instance: context.instance,
    code: upperSnake(input.code),
    requestId: context.requestId,
    ...extensions,
  };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
