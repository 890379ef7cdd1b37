export { PROBLEM_REGISTRY, PROBLEM_TYPE_BASE, upperSnake, renderDetail } from './problem-registry';
export type { ProblemDefinition } from './problem-registry';
export { ProblemException, buildProblem, PROBLEM_CONTENT_TYPE } from './problem';
export type { ProblemBody, ProblemInput } from './problem';
export { ProblemDetailsFilter, sendProblem, toProblemInput } from './problem-details.filter';
export { problemValidationPipe, flattenValidationErrors } from './validation';
export type { FieldProblem } from './validation';
export { DomainError } from './domain-error';
