export { testConfig } from './test-config';
export type { TestConfig } from './test-config';
export { waitFor } from './wait-for';
export type { WaitOptions } from './wait-for';
export { EntitlementGrpcClient } from './entitlement-grpc-client';
export { TcpRelay } from './tcp-relay';
export { testPayment } from './test-payment';
