import { loadSync } from '@grpc/proto-loader';
import {
  type CheckRequest,
  type CheckResponse,
  type Denial,
  type ReleaseRequest,
  type CloseLeasesRequest,
  type CloseLeasesResponse,
  type ClaimSettlementsRequest,
  type CompleteSettlementRequest,
  type PaymentAuthorization,
  type PaymentSettling,
  type PaymentSettlement,
  type RecordPaymentRequest,
  type RecordPaymentResponse,
  type RateLimit,
  type TakeRateWindowRequest,
  type TakeRateWindowResponse,
  type HoldConcurrencyRequest,
  type HoldConcurrencyResponse,
  type Warning,
  ENTITLEMENT_GRPC_PACKAGE,
  ENTITLEMENT_GRPC_SERVICE,
  ENTITLEMENT_PROTO_LOADER_OPTIONS,
  ENTITLEMENT_PROTO_PATH,
} from './entitlement-grpc';

// The TypeScript bindings are written by hand; this keeps them honest against the proto.
describe('entitlement proto', () => {
  const definition = loadSync(ENTITLEMENT_PROTO_PATH, { ...ENTITLEMENT_PROTO_LOADER_OPTIONS });
  const fieldsOf = (message: string) => {
    const type = definition[`${ENTITLEMENT_GRPC_PACKAGE}.${message}`] as unknown as {
      type: { field: { name: string }[] };
    };
    return type.type.field.map((f) => f.name).sort();
  };

  it('exposes Check, Release and RecordPayment on the versioned service', () => {
    const service = definition[`${ENTITLEMENT_GRPC_PACKAGE}.${ENTITLEMENT_GRPC_SERVICE}`] as Record<
      string,
      unknown
    >;
    expect(Object.keys(service).sort()).toEqual([
      'Check',
      'ClaimSettlements',
      'CloseLeases',
      'CompleteSettlement',
      'HoldConcurrency',
      'RecordPayment',
      'Release',
      'TakeRateWindow',
    ]);
  });

  // Records keyed by each interface: a key missing here, or one the interface lacks, fails to compile.
  const keys = (record: Record<string, true>) => Object.keys(record).sort();
  const checkRequest: Record<keyof CheckRequest, true> = {
    apiKey: true,
    feature: true,
    cost: true,
    requestId: true,
    requiredScopes: true,
    leaseUnits: true,
    customerId: true,
    payerPlan: true,
    payerAccount: true,
  };
  const checkResponse: Record<keyof CheckResponse, true> = {
    allowed: true,
    customerId: true,
    leaseId: true,
    denial: true,
    plan: true,
    warnings: true,
    rateLimit: true,
    leaseUnits: true,
    concurrencyLimit: true,
    readSnapshot: true,
    readDatabaseRun: true,
  };
  const denial: Record<keyof Denial, true> = {
    code: true,
    plan: true,
    feature: true,
    balance: true,
    required: true,
    limit: true,
    used: true,
    resetsAt: true,
    link: true,
  };
  const releaseRequest: Record<keyof ReleaseRequest, true> = {
    leaseId: true,
    reason: true,
    units: true,
    close: true,
    releaseId: true,
  };
  const closeLeasesRequest: Record<keyof CloseLeasesRequest, true> = { leaseIds: true };
  const closeLeasesResponse: Record<keyof CloseLeasesResponse, true> = { closed: true };
  const recordPaymentRequest: Record<keyof RecordPaymentRequest, true> = {
    customerId: true,
    paymentId: true,
    credits: true,
    network: true,
    asset: true,
    amount: true,
    payer: true,
    transaction: true,
    requestId: true,
    payerPlan: true,
    authorization: true,
    settling: true,
  };
  const paymentSettling: Record<keyof PaymentSettling, true> = {
    protocol: true,
    credential: true,
    requirement: true,
    claimSeconds: true,
  };
  const paymentAuthorization: Record<keyof PaymentAuthorization, true> = {
    holdUntilMs: true,
    protocol: true,
    credential: true,
    requirement: true,
    amountPerUnit: true,
    amountPerCall: true,
  };
  const claimSettlementsRequest: Record<keyof ClaimSettlementsRequest, true> = {
    limit: true,
    claimSeconds: true,
  };
  const paymentSettlement: Record<keyof PaymentSettlement, true> = {
    paymentId: true,
    customerId: true,
    protocol: true,
    credential: true,
    requirement: true,
    amount: true,
    creditsUsed: true,
  };
  const completeSettlementRequest: Record<keyof CompleteSettlementRequest, true> = {
    paymentId: true,
    settled: true,
    transaction: true,
    failure: true,
    retry: true,
  };
  const recordPaymentResponse: Record<keyof RecordPaymentResponse, true> = {
    replayed: true,
    grantId: true,
    balance: true,
    customerId: true,
    authorizationOpen: true,
    claimed: true,
  };
  const takeRateWindowRequest: Record<keyof TakeRateWindowRequest, true> = {
    customerId: true,
    feature: true,
    windowStartMs: true,
    windowSeconds: true,
    limit: true,
    units: true,
  };
  const takeRateWindowResponse: Record<keyof TakeRateWindowResponse, true> = {
    granted: true,
    used: true,
  };
  const holdConcurrencyRequest: Record<keyof HoldConcurrencyRequest, true> = {
    customerId: true,
    feature: true,
    holder: true,
    limit: true,
    slots: true,
    holdSeconds: true,
  };
  const holdConcurrencyResponse: Record<keyof HoldConcurrencyResponse, true> = {
    held: true,
    inUse: true,
  };
  const warning: Record<keyof Warning, true> = { code: true, until: true, used: true, limit: true };
  const rateLimit: Record<keyof RateLimit, true> = { requests: true, windowSeconds: true };

  it('has exactly the fields the typed bindings declare', () => {
    expect(fieldsOf('CheckRequest')).toEqual(keys(checkRequest));
    expect(fieldsOf('CheckResponse')).toEqual(keys(checkResponse));
    expect(fieldsOf('Denial')).toEqual(keys(denial));
    expect(fieldsOf('ReleaseRequest')).toEqual(keys(releaseRequest));
    expect(fieldsOf('CloseLeasesRequest')).toEqual(keys(closeLeasesRequest));
    expect(fieldsOf('CloseLeasesResponse')).toEqual(keys(closeLeasesResponse));
    expect(fieldsOf('Warning')).toEqual(keys(warning));
    expect(fieldsOf('RateLimit')).toEqual(keys(rateLimit));
    expect(fieldsOf('RecordPaymentRequest')).toEqual(keys(recordPaymentRequest));
    expect(fieldsOf('RecordPaymentResponse')).toEqual(keys(recordPaymentResponse));
    expect(fieldsOf('PaymentAuthorization')).toEqual(keys(paymentAuthorization));
    expect(fieldsOf('PaymentSettling')).toEqual(keys(paymentSettling));
    expect(fieldsOf('ClaimSettlementsRequest')).toEqual(keys(claimSettlementsRequest));
    expect(fieldsOf('PaymentSettlement')).toEqual(keys(paymentSettlement));
    expect(fieldsOf('CompleteSettlementRequest')).toEqual(keys(completeSettlementRequest));
    expect(fieldsOf('TakeRateWindowRequest')).toEqual(keys(takeRateWindowRequest));
    expect(fieldsOf('TakeRateWindowResponse')).toEqual(keys(takeRateWindowResponse));
    expect(fieldsOf('HoldConcurrencyRequest')).toEqual(keys(holdConcurrencyRequest));
    expect(fieldsOf('HoldConcurrencyResponse')).toEqual(keys(holdConcurrencyResponse));
  });
});
