export {
  PROBLEM_DETAIL_VARIANTS,
  PROBLEM_REGISTRY,
  PROBLEM_TYPE_BASE,
  upperSnake,
  problemStatus,
  setProblemStatuses,
} from './problem-registry';
export type { ProblemDefinition, ProblemDetailVariant } from './problem-registry';
export { ProblemException, buildProblem, problemLanguage, PROBLEM_CONTENT_TYPE } from './problem';
export { negotiateLanguage } from './language';
export {
  PROBLEM_DETAIL_VARIANT_TRANSLATIONS,
  PROBLEM_LANGUAGES,
  PROBLEM_TRANSLATIONS,
} from './translations';
export type { ProblemLanguage } from './translations';
export type { ProblemBody, ProblemInput } from './problem';
export {
  ProblemDetailsFilter,
  sendProblem,
  toProblemInput,
  writeProblem,
} from './problem-details.filter';
export type { ProblemRequest } from './problem-details.filter';
export { problemValidationPipe, flattenValidationErrors } from './validation';
export type { FieldProblem } from './validation';
export { DomainError } from './domain-error';
export {
  FIELD_PROBLEM_SCHEMA,
  problemCodesWith,
  problemOfCodes,
  problemSchema,
} from './openapi-schemas';
