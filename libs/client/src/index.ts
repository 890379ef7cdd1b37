export { createPaygateClient } from './paygate-client';
export type { PaygateClient, PaygateClientOptions } from './paygate-client';
export {
  ForbiddenError,
  InvalidRequestError,
  PaymentRequiredError,
  ProblemError,
  RateLimitedError,
  UnauthenticatedError,
  problemFromResponse,
  retryAfterSeconds,
  PROBLEM_CONTENT_TYPE,
} from './problem-errors';
export type { FieldError, ProblemBody } from './problem-errors';
export { mayRepeat, nextDelayMs } from './retry-policy';
export type { RetryOptions } from './retry-policy';
export { PaymentBudget, offersOf } from './payments';
export type { PaymentCredential, PaymentOffer, PaymentOptions, PaymentRequest } from './payments';
