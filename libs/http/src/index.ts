export { createHttpApp, listen, run } from './http-app';
export type { HttpAppOptions } from './http-app';
export { AdminTokenGuard, ADMIN_TOKEN, BearerTokens } from './admin-token.guard';
export {
  IdempotencyInterceptor,
  IDEMPOTENCY_STORE,
  UNFINISHED_AFTER_SECONDS,
} from './idempotency.interceptor';
export type { IdempotencyStore, IdempotencyClaim } from './idempotency.interceptor';
export { serveOpenApi } from './openapi';
export type { OpenApiOptions } from './openapi';
export { PageQueryDto } from './page-query.dto';
export { INPUT_LIMITS, SUPPORTED_METHODS } from './input-limits';
export { checkParsedInput } from './body-parsers';
export { NullClears, NullFieldsPipe } from './null-fields.pipe';
export { clientErrorProblem, rawProblemResponse } from './http-edge';
export { frontDoorServer, pathOf } from './front-door';
export type { FrontDoor } from './front-door';
export {
  DATE_INPUT_RANGE,
  EXPIRY_INPUT_RANGE,
  IsInDateInputRange,
  IsNotBefore,
  IsRfc3339DateTime,
  isInDateInputRange,
  isRfc3339DateTime,
} from './date-time.validator';
export type { DateInputRange } from './date-time.validator';
export { IntegerText, UuidParam } from './input-fields';
export { IsDisplayText, isDisplayText } from './display-text.validator';
export type { DisplayText } from './display-text.validator';
export { operatorListener } from './operator-listener';
export type { OperatorListenerOptions } from './operator-listener';
