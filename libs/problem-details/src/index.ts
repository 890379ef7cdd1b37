export {
  PROBLEM_REGISTRY,
  PROBLEM_TYPE_BASE,
  upperSnake,
  renderDetail,
  problemStatus,
  setProblemStatuses,
} from './problem-registry';
export type { ProblemDefinition } from './problem-registry';
export { ProblemException, buildProblem, problemLanguage, PROBLEM_CONTENT_TYPE } from './problem';
export { negotiateLanguage } from './language';
export { PROBLEM_LANGUAGES, PROBLEM_TRANSLATIONS } from './translations';
export type { ProblemLanguage } from './translations';
export type { ProblemBody, ProblemInput } from './problem';
export { ProblemDetailsFilter, sendProblem, toProblemInput } from './problem-details.filter';
export { problemValidationPipe, flattenValidationErrors } from './validation';
export type { FieldProblem } from './validation';
export { DomainError } from './domain-error';
