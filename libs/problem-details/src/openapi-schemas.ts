import { PROBLEM_CODES, type ProblemCode } from '@paygate/contracts';
import { PROBLEM_TYPE_BASE, problemStatus } from './problem-registry';

/** One failing field of a 400 (FieldProblem), as OpenAPI 3.1 JSON Schema. */
export const FIELD_PROBLEM_SCHEMA = {
  type: 'object',
  required: ['field', 'messages'],
  properties: {
    field: {
      type: 'string',
      description:
        'What to correct: a body member (dotted path, array members by index: `features.0.key`), a path or query parameter, a header, `body` for the body as a whole, `request` for the request as a whole.',
    },
    messages: { type: 'array', items: { type: 'string' }, minItems: 1 },
  },
};

/**
 * An RFC 9457 problem as every paygate service answers it (application/problem+json), as
 * OpenAPI 3.1 JSON Schema; `more` adds the members of a service's own problems.
 */
export function problemSchema(more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object',
    required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
    properties: {
      type: {
        type: 'string',
        format: 'uri',
        enum: PROBLEM_CODES.map((c) => `${PROBLEM_TYPE_BASE}${c}`),
      },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string', description: "In the caller's language (Accept-Language)." },
      instance: {
        type: 'string',
        description: 'The request path; absent when the request line itself was malformed.',
      },
      code: { type: 'string', description: 'The type as UPPER_SNAKE, e.g. INSUFFICIENT_CREDITS.' },
      requestId: { type: 'string', description: 'Also in X-Request-Id and in the logs.' },
      errors: {
        type: 'array',
        description: 'On every 400: what to correct.',
        items: { $ref: '#/components/schemas/FieldProblem' },
      },
      ...more,
    },
  };
}

/** The codes answered with this status in this deployment (PROBLEM_STATUSES applied). */
export const problemCodesWith = (status: number): ProblemCode[] =>
  PROBLEM_CODES.filter((code) => problemStatus(code) === status);

/**
 * A problem of one of `codes`: the document's `Problem` schema with its `type` narrowed to
 * them. With no code left at a status (PROBLEM_STATUSES moved them all) any type matches, as
 * an empty enum would match nothing.
 */
export function problemOfCodes(codes: ProblemCode[]): Record<string, unknown> {
  return {
    allOf: [
      { $ref: '#/components/schemas/Problem' },
      {
        type: 'object',
        properties: {
          type: codes.length > 0 ? { enum: codes.map((c) => `${PROBLEM_TYPE_BASE}${c}`) } : {},
        },
      },
    ],
  };
}
