export type {
  MalformedPayment,
  ParsedPayment,
  PayableAsset,
  PaymentFacilitator,
  PaymentRequirement,
  Settlement,
  SettleResult,
  VerifyResult,
} from './types';
export { isDecimalAmount, totalAmount } from './amount';
export {
  EVM_PAYMENT_METHOD,
  TEST_NETWORK,
  TEST_PAYMENT_METHOD,
  evmChainId,
  isTestNetwork,
} from './networks';
export { buildPaymentChallenges, verifyChallengeId } from './challenges';
export type {
  ChallengeCheck,
  ChallengeOptions,
  PaymentChallenges,
  PaymentOffer,
  PaymentProblemMember,
} from './challenges';
export { credentialHeaders, MAX_CREDENTIAL_LENGTH, parsePaymentCredential } from './credentials';
export type { HeaderBag } from './credentials';
export { FacilitatorRouter } from './facilitator-router';
export { HttpFacilitator } from './http-facilitator';
export type { HttpFacilitatorOptions } from './http-facilitator';
export { TestFacilitator } from './test-facilitator';
export type { TestFacilitatorOptions } from './test-facilitator';
export { TestSettlementLedger } from './test-settlement-ledger';
export type { TestSettlement } from './test-settlement-ledger';
export { TestWallet } from './test-wallet';
export type { PayOptions, TestWalletOptions } from './test-wallet';
export { paymentReceiptHeader, paymentResponseHeader, receiptHeaders } from './receipts';
