import type { EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import { Customer } from '../customers/customer.entity';
import { periodBoundary } from '../subscriptions/billing-period';
import { Subscription } from '../subscriptions/subscription.entity';

/** Grace a payer's subscription would get if it ever went past due (it is never billed). */
const GRACE_SECONDS = 3 * 24 * 3600;

/**
 * The customers anonymous payers became (payer_accounts, see the PayerAccounts
 * migration). A payer is found by its account "<network>:<address>" (CAIP-10).
 */
export const payerAccounts = {
  async find(manager: EntityManager, account: string): Promise<string | undefined> {
    const [row]: { customer_id: string }[] = await manager.query(
      `SELECT "customer_id" FROM ${tables.payer_accounts} WHERE "account" = $1`,
      [account],
    );
    return row?.customer_id;
  },

  /**
   * The payer's customer: found, or created with an active subscription to the plan. Concurrent
   * first payments of one payer wait on a transaction-scoped advisory lock on the account, so
   * exactly one creates it and the others find it (READ COMMITTED: each statement after the
   * lock sees what the first committed).
   */
  async findOrCreate(
    manager: EntityManager,
    account: string,
    planId: string,
    now: Date,
  ): Promise<{ customerId: string; created?: { subscriptionId: string } }> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 17))`, [
      `payer-account:${account}`,
    ]);
    const existing = await payerAccounts.find(manager, account);
    if (existing) return { customerId: existing };
    const customer = await manager.save(
      manager.create(Customer, { name: `payer ${account}`, email: null, blocked: false }),
    );
    const subscription = await manager.save(
      manager.create(Subscription, {
        customerId: customer.id,
        planId,
        status: 'active',
        currentPeriodStart: now,
        currentPeriodEnd: periodBoundary(now, 'month', 1),
        billingInterval: 'month',
        billingAnchor: now,
        cancelAtPeriodEnd: false,
        pendingPlanId: null,
        pastDueSince: null,
        gracePeriodSeconds: GRACE_SECONDS,
      }),
    );
    await manager.query(
      `INSERT INTO ${tables.payer_accounts} ("account", "customer_id") VALUES ($1, $2)`,
      [account, customer.id],
    );
    return { customerId: customer.id, created: { subscriptionId: subscription.id } };
  },
};
