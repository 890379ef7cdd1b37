import { Body, Controller, Get, Headers, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DomainError, negotiateLanguage } from '@paygate/problem-details';
import { Type } from 'class-transformer';
import { IsInt, IsUUID, Matches, Max, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { EntitlementConfig } from '../config/entitlement.config';
import type { FastifyReply } from 'fastify';
import { LedgerService } from '../credits/ledger.service';
import { CustomersService } from '../customers/customers.service';
import { SubscriptionLifecycleService } from '../subscriptions/subscription-lifecycle.service';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { PeriodUsageService } from '../usage/period-usage.service';
import { BillingLinkClaims, BillingLinks } from './billing-links';
import { renderBillingPage } from './billing-page';
import { PAYMENT_PROVIDER, PaymentProvider } from './payment-provider';

export class TopUpForm {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  credits!: number;

  /** One per rendered form: a double submit buys once. */
  @IsUUID()
  nonce!: string;
}

export class PlanForm {
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}$/)
  plan!: string;
}

/** The page's absolute address, where a payment provider sends the customer back. */
const pageUrl = (host: string | undefined, token: string) =>
  `http://${host ?? 'localhost'}/billing/${token}`;

/** Statuses a paid invoice brings back to active. */
const UNPAID = new Set(['incomplete', 'past_due', 'unpaid', 'suspended']);

/**
 * The page a refusal's `link` opens: who, why (the refusal's code, in the browser's
 * language), plan, balance and usage, and the payment provider's actions. The signed token in
 * the path is the only credential; every form posts back to the same path.
 */
@ApiExcludeController()
@Controller('billing')
export class BillingController {
  constructor(
    private readonly links: BillingLinks,
    private readonly customers: CustomersService,
    private readonly ledger: LedgerService,
    private readonly usage: PeriodUsageService,
    private readonly lifecycle: SubscriptionLifecycleService,
    private readonly subscriptions: SubscriptionsService,
    @Inject(PAYMENT_PROVIDER) private readonly provider: PaymentProvider | null,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(EntitlementConfig)
    private readonly config: Pick<EntitlementConfig, 'BILLING_UPGRADE_PLANS'>,
  ) {}

  @Get(':token')
  async page(
    @Param('token') token: string,
    @Headers('accept-language') acceptLanguage: string | undefined,
    @Query('notice') notice: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.claims(token);
    const [customer, balance, usage, subscription] = await Promise.all([
      this.customers.get(claims.customerId),
      this.ledger.balance(claims.customerId),
      this.usage.current(claims.customerId),
      this.lifecycle.current(claims.customerId),
    ]);
    const html = renderBillingPage({
      language: negotiateLanguage(acceptLanguage),
      customer,
      code: claims.code,
      required: claims.required,
      plan: usage.plan,
      subscriptionStatus: subscription?.status ?? null,
      balance: balance.available,
      usage: usage.features,
      actions: {
        topUp: this.provider !== null,
        settlePayment:
          this.provider?.name === 'demo' &&
          subscription !== undefined &&
          UNPAID.has(subscription.status),
        manage: this.provider?.manage !== undefined && customer.stripeCustomerId !== null,
        upgrades:
          this.provider?.name === 'demo' && subscription
            ? (await this.upgradePlans()).filter((p) => p.key !== subscription.planKey)
            : [],
      },
      basePath: `/billing/${token}`,
      notice: notice === 'done' ? 'done' : undefined,
    });
    await reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('content-language', negotiateLanguage(acceptLanguage))
      .header('vary', 'Accept-Language')
      .send(html);
  }

  @Post(':token/top-up')
  async topUp(
    @Param('token') token: string,
    @Body() form: TopUpForm,
    @Headers('host') host: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.claims(token);
    if (!this.provider) throw new DomainError('not-found', 'No payment provider is set up.');
    const outcome = await this.provider.topUp({
      customerId: claims.customerId,
      credits: form.credits,
      returnUrl: pageUrl(host, token),
      idempotencyKey: form.nonce,
    });
    await reply.redirect(
      outcome.kind === 'redirect' ? outcome.url : `/billing/${token}?notice=done`,
      303,
    );
  }

  /** Demo provider only: the open invoice is paid at once and the subscription is active again. */
  @Post(':token/pay')
  async pay(@Param('token') token: string, @Res() reply: FastifyReply): Promise<void> {
    const claims = this.claims(token);
    if (this.provider?.name !== 'demo')
      throw new DomainError('not-found', 'Paying here needs the demo payment provider.');
    const subscription = await this.lifecycle.current(claims.customerId);
    if (!subscription || !UNPAID.has(subscription.status))
      throw new DomainError('conflict', 'There is no open invoice to pay.');
    await this.subscriptions.update(subscription.id, { status: 'active' });
    await reply.redirect(`/billing/${token}?notice=done`, 303);
  }

  /** The provider's own page (Stripe's customer portal) for a customer it knows. */
  @Post(':token/manage')
  async manage(
    @Param('token') token: string,
    @Headers('host') host: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.claims(token);
    const customer = await this.customers.get(claims.customerId);
    if (!this.provider?.manage || !customer.stripeCustomerId)
      throw new DomainError('not-found', 'The payment provider does not know this customer yet.');
    const outcome = await this.provider.manage({
      providerCustomerId: customer.stripeCustomerId,
      returnUrl: pageUrl(host, token),
    });
    await reply.redirect(outcome.kind === 'redirect' ? outcome.url : `/billing/${token}`, 303);
  }

  /** Demo provider only: the plan changes at once (an upgrade, paid for on the spot). */
  @Post(':token/plan')
  async changePlan(
    @Param('token') token: string,
    @Body() form: PlanForm,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.claims(token);
    if (this.provider?.name !== 'demo')
      throw new DomainError('not-found', 'Changing plans here needs the demo payment provider.');
    const plan = (await this.upgradePlans()).find((p) => p.key === form.plan);
    if (!plan) throw new DomainError('not-found', `Plan ${form.plan} is not offered here.`);
    const subscription = await this.lifecycle.current(claims.customerId);
    if (!subscription) throw new DomainError('conflict', 'There is no subscription to change.');
    await this.subscriptions.update(subscription.id, { planId: plan.id, planChange: 'now' });
    await reply.redirect(`/billing/${token}?notice=done`, 303);
  }

  /** The latest version of each plan BILLING_UPGRADE_PLANS offers. */
  private upgradePlans(): Promise<{ id: string; key: string; name: string }[]> {
    if (this.config.BILLING_UPGRADE_PLANS.length === 0) return Promise.resolve([]);
    return this.dataSource.query(
      `SELECT DISTINCT ON ("key") "id", "key", "name" FROM "entitlement"."plans"
       WHERE "key" = ANY($1) ORDER BY "key", "version" DESC`,
      [this.config.BILLING_UPGRADE_PLANS],
    );
  }

  private claims(token: string): BillingLinkClaims {
    const claims = this.links.verify(token);
    // The same answer for a forged, a foreign and an expired link: nothing to learn from it.
    if (!claims) throw new DomainError('not-found', 'This billing link is invalid or has expired.');
    return claims;
  }
}
