/** Nest token of the facilitator the gateway verifies and settles with (gateway.module.ts). */
export const PAYMENT_FACILITATOR = Symbol('PAYMENT_FACILITATOR');
