export { TOPICS, DEAD_LETTER_HEADERS, KAFKA_PREFIX_PATTERN, topicNames } from './topics';
export type { Topics } from './topics';
export { DOMAIN_KEY } from './keys';
export { PROBLEM_CODES, isProblemCode } from './problem-codes';
export type { ProblemCode } from './problem-codes';
export {
  BINARY_MODE_PREFIX,
  REQUEST_SERVED_EVENT_TYPE,
  REQUEST_SERVED_SAMPLE,
  USAGE_EVENT_LIMITS,
  decodeUsageEvent,
  parseUsageEvent,
  validateUsageEvent,
} from './usage-event';
export type {
  UsageEvent,
  UsageEventParseResult,
  FieldError,
  RequestServedData,
} from './usage-event';
export { timestampMs } from './cloudevents-rules';
export { canonicalCustomerId } from './customer-id';
export { repeatedMember } from './repeated-members';
export { payerAccountOf } from './payer-account';
export { isUsageRecordedEvent } from './usage-recorded.event';
export type { UsageRecordedEvent, LeasedUsage } from './usage-recorded.event';
export {
  WARNING_CODES,
  CLOSE_LEASES_MAX,
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_GRPC_SERVICE,
  ENTITLEMENT_PROTO_PATH,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
} from './entitlement-grpc';
export type {
  CheckRequest,
  CheckResponse,
  Denial,
  ReleaseRequest,
  ReleaseResponse,
  CloseLeasesRequest,
  CloseLeasesResponse,
  RecordPaymentRequest,
  RecordPaymentResponse,
  PaymentAuthorization,
  PaymentSettling,
  TakeRateWindowRequest,
  TakeRateWindowResponse,
  HoldConcurrencyRequest,
  HoldConcurrencyResponse,
  ClaimSettlementsRequest,
  ClaimSettlementsResponse,
  PaymentSettlement,
  CompleteSettlementRequest,
  CompleteSettlementResponse,
  EntitlementServiceClient,
  RateLimit,
  Warning,
  WarningCode,
} from './entitlement-grpc';
export {
  ENTITLEMENT_CHANGE_REASONS,
  changeTransaction,
  decidedWith,
  parseEntitlementChangedEvent,
  snapshotShows,
} from './entitlement-changed.event';
export type {
  ChangeTransaction,
  EntitlementChangedEvent,
  EntitlementChangeReason,
} from './entitlement-changed.event';
