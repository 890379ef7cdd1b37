/** One PaymentFacilitator in front of several: each payment goes to the one for its network. */
import type {
  ParsedPayment,
  PaymentFacilitator,
  PaymentRequirement,
  SettleResult,
  VerifyResult,
} from './types';

export class FacilitatorRouter implements PaymentFacilitator {
  /**
   * @param byNetwork facilitators for exact CAIP-2 networks, e.g. `{ 'paygate:test': test }`
   * @param fallback the facilitator for every other network (an HttpFacilitator, say)
   */
  constructor(
    private readonly byNetwork: Record<string, PaymentFacilitator>,
    private readonly fallback?: PaymentFacilitator,
  ) {}

  private route(network: string): PaymentFacilitator | undefined {
    return Object.hasOwn(this.byNetwork, network) ? this.byNetwork[network] : this.fallback;
  }

  async verify(payment: ParsedPayment, requirement: PaymentRequirement): Promise<VerifyResult> {
    const facilitator = this.route(payment.network);
    if (!facilitator) return { valid: false, reason: 'wrong-network' };
    return facilitator.verify(payment, requirement);
  }

  /** `amount`: what an `upto` payment settles (see PaymentFacilitator.settle), passed on. */
  async settle(
    payment: ParsedPayment,
    requirement?: PaymentRequirement,
    amount?: string,
  ): Promise<SettleResult> {
    const facilitator = this.route(payment.network);
    if (!facilitator) return { settled: false, reason: 'wrong-network' };
    return facilitator.settle(payment, requirement, amount);
  }
}
