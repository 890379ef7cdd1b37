import type { ProblemCode } from '@paygate/contracts';
import {
  PROBLEM_DETAIL_VARIANTS,
  PROBLEM_REGISTRY,
  PROBLEM_TYPE_BASE,
  ProblemDetailVariant,
  problemStatus,
  upperSnake,
} from './problem-registry';
import { PROBLEM_DETAIL_FALLBACKS, renderFilledDetail } from './detail-fallbacks';
import {
  PROBLEM_DETAIL_VARIANT_TRANSLATIONS,
  PROBLEM_TRANSLATIONS,
  ProblemLanguage,
} from './translations';

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
  /** A translated detail for one case of the code, used instead of the code's own. */
  variant?: ProblemDetailVariant;
  /**
   * The field the detail is about, named with it (in the caller's language) as the one entry
   * of `errors` when the problem has none of its own (at any status; a 400 without it names
   * `request`).
   */
  field?: string;
  /** Extension members: numbers behind the decision, failing fields, link... */
  extensions?: Record<string, unknown>;
  /** Response headers; a list is sent as one header line per value (WWW-Authenticate). */
  headers?: Record<string, string | string[]>;
}

/** Thrown by edges (never by domain services) to answer with a problem. */
export class ProblemException extends Error {
  constructor(readonly problem: ProblemInput) {
    super(problem.detail ?? problem.code);
  }
}

/**
 * The problem body in the asked language (English when none is given). A detail the caller
 * wrote itself (input.detail) is English, and so is then the whole body, so that
 * Content-Language is true: see problemLanguage.
 */
export function buildProblem(
  input: ProblemInput,
  context: { instance: string; requestId: string; language?: ProblemLanguage },
): ProblemBody {
  const language = problemLanguage(input, context.language);
  const definition =
    language === 'en'
      ? PROBLEM_REGISTRY[input.code]
      : { ...PROBLEM_REGISTRY[input.code], ...PROBLEM_TRANSLATIONS[language][input.code] };
  const extensions = Object.fromEntries(
    Object.entries(input.extensions ?? {}).filter(
      ([, v]) => v !== undefined && v !== null && v !== '',
    ),
  );
  const template = !input.variant
    ? definition.detail
    : language === 'en'
      ? PROBLEM_DETAIL_VARIANTS[input.variant]
      : PROBLEM_DETAIL_VARIANT_TRANSLATIONS[language][input.variant];
  const status = problemStatus(input.code);
  // Members the template names but the problem lacks: a fallback that needs fewer of them.
  const detail =
    input.detail ??
    renderFilledDetail(
      input.variant
        ? [template]
        : [template, ...(PROBLEM_DETAIL_FALLBACKS[language][input.code] ?? [])],
      extensions,
      language,
    );
  return {
    type: `${PROBLEM_TYPE_BASE}${input.code}`,
    title: definition.title,
    status,
    detail,
    instance: context.instance,
    code: upperSnake(input.code),
    requestId: context.requestId,
    ...extensions,
    // Every 400 names what to correct (docs/api.md): one without fields of its own (a code a
    // deployment answers with 400 through PROBLEM_STATUSES) names the request as a whole.
    // A field named by the caller is told whatever status a deployment gives the code.
    ...((status === 400 || input.field) && !Array.isArray(extensions.errors)
      ? { errors: [{ field: input.field ?? 'request', messages: [detail] }] }
      : {}),
  };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The language a problem is actually written in, given the one asked for. */
export function problemLanguage(
  input: ProblemInput,
  asked: ProblemLanguage = 'en',
): ProblemLanguage {
  return input.detail === undefined ? asked : 'en';
}
