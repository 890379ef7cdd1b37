/**
 * Where paygate:test payments settle: an in-memory ledger keyed by paymentId. Settling a
 * paymentId a second time finds the first entry, which makes settlement idempotent. Lost on
 * restart, like the test network itself.
 */
import { createHash } from 'node:crypto';

export interface TestSettlement {
  paymentId: string;
  /** `paygate-test:<hex>`, derived from the paymentId. */
  transaction: string;
  payer: string;
  payTo: string;
  asset: string;
  amount: string;
  settledAt: Date;
}

export class TestSettlementLedger {
  private readonly settlements = new Map<string, TestSettlement>();

  get(paymentId: string): TestSettlement | undefined {
    return this.settlements.get(paymentId);
  }

  /** Records a settlement, or returns the one already recorded for its paymentId. */
  record(entry: Omit<TestSettlement, 'transaction'>): TestSettlement {
    const existing = this.settlements.get(entry.paymentId);
    if (existing) return existing;
    const digest = createHash('sha256').update(`paygate:test\n${entry.paymentId}`).digest('hex');
    const settlement = { ...entry, transaction: `paygate-test:${digest.slice(0, 32)}` };
    this.settlements.set(entry.paymentId, settlement);
    return settlement;
  }

  /** What an address has received in an asset, summed exactly. */
  received(payTo: string, asset: string): bigint {
    let total = 0n;
    for (const settlement of this.settlements.values()) {
      if (settlement.payTo === payTo && settlement.asset === asset) {
        total += BigInt(settlement.amount);
      }
    }
    return total;
  }

  get size(): number {
    return this.settlements.size;
  }
}
