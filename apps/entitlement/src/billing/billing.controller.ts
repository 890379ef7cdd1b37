import { DOMAIN_KEY, type ProblemCode } from '@paygate/contracts';
import { Body, Controller, Get, Headers, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DomainError, negotiateLanguage } from '@paygate/problem-details';
import { IsInt, IsUUID, Matches, Max, Min } from 'class-validator';
import { IDEMPOTENCY_STORE, IntegerText, type IdempotencyStore } from '@paygate/http';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EntitlementConfig } from '../config/entitlement.config';
import type { FastifyReply } from 'fastify';
import { LedgerService } from '../credits/ledger.service';
import { CustomersService } from '../customers/customers.service';
import { type PlanOffer, plans } from '../plans/plans.repository';
import { SubscriptionLifecycleService } from '../subscriptions/subscription-lifecycle.service';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';
import { PeriodUsageService } from '../usage/period-usage.service';
import { BillingLinkClaims, BillingLinks } from './billing-links';
import { BILLING_SECURITY_HEADERS, renderBillingPage } from './billing-page';
import { PAYMENT_PROVIDER, PaymentProvider } from './payment-provider';

export class TopUpForm {
  @IntegerText()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  credits!: number;

  /**
   * The form's CSRF token (BillingLinks.formToken: made for this page's billing token), one
   * per rendered form; also the payment's idempotency key, so a double submit buys once.
   */
  @IsUUID()
  nonce!: string;
}

export class PlanForm {
  @Matches(DOMAIN_KEY)
  plan!: string;
}

/** The page's absolute address, where a payment provider sends the customer back. */
const pageUrl = (host: string | undefined, token: string) =>
  `http://${host ?? 'localhost'}/billing/${token}`;

/** The origin of a URL, or undefined for something that is none. */
const originOf = (url: string) => {
  try {
    const { protocol, host } = new URL(url.replace('{token}', 't').replace('{customerId}', 'c'));
    return protocol === 'http:' || protocol === 'https:' ? `${protocol}//${host}` : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Whether a form post may come from the billing page: Sec-Fetch-Site, when sent, is
 * same-origin (or none: typed by the user); Origin, when sent, is the page's own, or "null"
 * together with Sec-Fetch-Site: same-origin.
 */
export function isSameOrigin(
  headers: Record<string, string | undefined>,
  portalUrlTemplate: string,
): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  // What browsers send from a page with Referrer-Policy: no-referrer (this one): it counts
  // only with the browser's own (unforgeable) word that the post is same-origin.
  if (origin === 'null') return site === 'same-origin';
  const given = originOf(origin);
  if (!given) return false;
  const own = new Set([originOf(portalUrlTemplate)]);
  if (headers.host)
    for (const scheme of ['http', 'https']) own.add(originOf(`${scheme}://${headers.host}/`));
  own.delete(undefined);
  return own.has(given);
}

/** Statuses a paid invoice brings back to active. */
const UNPAID = new Set(['incomplete', 'past_due', 'unpaid', 'suspended']);

/**
 * Whether buying credits ends the refusal a link was made for: only a balance that was short.
 * A blocked customer, a quota whose plan blocks past it, a subscription to renew or settle, a
 * rate or concurrency limit: credits change none of them, so the page sells none (it offers
 * what does, if anything) and its top-up form is refused.
 */
const creditsEndIt = (code: ProblemCode, customer: { blocked: boolean }) =>
  code === 'insufficient-credits' && !customer.blocked;

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
    /** Where each top-up form's use is recorded (the idempotency table): once per form. */
    @Inject(IDEMPOTENCY_STORE) private readonly forms: IdempotencyStore,
    @Inject(EntitlementConfig)
    private readonly config: Pick<
      EntitlementConfig,
      'BILLING_UPGRADE_PLANS' | 'BILLING_PORTAL_URL_TEMPLATE'
    >,
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
        topUp: this.provider !== null && creditsEndIt(claims.code, customer),
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
      formToken: this.links.formToken(token),
      notice: notice === 'done' ? 'done' : undefined,
    });
    await reply
      .headers(BILLING_SECURITY_HEADERS)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-language', negotiateLanguage(acceptLanguage))
      .header('vary', 'Accept-Language')
      .send(html);
  }

  @Post(':token/top-up')
  async topUp(
    @Param('token') token: string,
    @Body() form: TopUpForm,
    @Headers() headers: Record<string, string | undefined>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.postFromPage(token, headers);
    const provider = this.provider;
    if (!provider) throw new DomainError('not-found', 'No payment provider is set up.');
    if (!creditsEndIt(claims.code, await this.customers.get(claims.customerId)))
      throw new DomainError('not-found', 'Credits would not end this refusal: nothing to buy.');
    // Only a form this page rendered: a made-up or another link's nonce buys nothing.
    if (!this.links.verifyFormToken(token, form.nonce))
      throw new DomainError(
        'forbidden',
        'This form was not issued by this billing page. Open the page again and submit its form.',
      );
    // Single use: the first submission buys; the same one again (a double click, a reload)
    // is answered as the first without buying twice; the token with another amount is a 409.
    const key = `billing-form:${form.nonce}`;
    const claim = await this.forms.claim(
      key,
      createHash('sha256').update(`${token}\n${form.credits}`).digest('hex'),
    );
    if (claim.state === 'mismatch' || claim.state === 'in-progress')
      throw new DomainError(
        'conflict',
        'This form was already used. Open the billing page again for a new one.',
      );
    // What is kept is the provider's redirect, if any (not this page's address: its token).
    let redirect: string | null;
    if (claim.state === 'done') {
      redirect = (claim.body as { redirect: string | null }).redirect;
    } else {
      try {
        const outcome = await provider.topUp({
          customerId: claims.customerId,
          credits: form.credits,
          returnUrl: pageUrl(headers.host, token),
          idempotencyKey: form.nonce,
        });
        redirect = outcome.kind === 'redirect' ? outcome.url : null;
      } catch (err) {
        await this.forms.abandon(key);
        throw err;
      }
      await this.forms.complete(key, 303, { redirect });
    }
    await reply
      .headers(BILLING_SECURITY_HEADERS)
      .redirect(redirect ?? `/billing/${token}?notice=done`, 303);
  }

  /** Demo provider only: the open invoice is paid at once and the subscription is active again. */
  @Post(':token/pay')
  async pay(
    @Param('token') token: string,
    @Headers() headers: Record<string, string | undefined>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.postFromPage(token, headers);
    if (this.provider?.name !== 'demo')
      throw new DomainError('not-found', 'Paying here needs the demo payment provider.');
    const subscription = await this.lifecycle.current(claims.customerId);
    if (!subscription || !UNPAID.has(subscription.status))
      throw new DomainError('conflict', 'There is no open invoice to pay.');
    await this.subscriptions.update(subscription.id, { status: 'active' });
    await reply.headers(BILLING_SECURITY_HEADERS).redirect(`/billing/${token}?notice=done`, 303);
  }

  /** The provider's own page (Stripe's customer portal) for a customer it knows. */
  @Post(':token/manage')
  async manage(
    @Param('token') token: string,
    @Headers() headers: Record<string, string | undefined>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.postFromPage(token, headers);
    const host = headers.host;
    const customer = await this.customers.get(claims.customerId);
    if (!this.provider?.manage || !customer.stripeCustomerId)
      throw new DomainError('not-found', 'The payment provider does not know this customer yet.');
    const outcome = await this.provider.manage({
      providerCustomerId: customer.stripeCustomerId,
      returnUrl: pageUrl(host, token),
    });
    await reply
      .headers(BILLING_SECURITY_HEADERS)
      .redirect(outcome.kind === 'redirect' ? outcome.url : `/billing/${token}`, 303);
  }

  /** Demo provider only: the plan changes at once (an upgrade, paid for on the spot). */
  @Post(':token/plan')
  async changePlan(
    @Param('token') token: string,
    @Body() form: PlanForm,
    @Headers() headers: Record<string, string | undefined>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const claims = this.postFromPage(token, headers);
    if (this.provider?.name !== 'demo')
      throw new DomainError('not-found', 'Changing plans here needs the demo payment provider.');
    const plan = (await this.upgradePlans()).find((p) => p.key === form.plan);
    if (!plan) throw new DomainError('not-found', `Plan ${form.plan} is not offered here.`);
    const subscription = await this.lifecycle.current(claims.customerId);
    if (!subscription) throw new DomainError('conflict', 'There is no subscription to change.');
    await this.subscriptions.update(subscription.id, { planId: plan.id, planChange: 'now' });
    await reply.headers(BILLING_SECURITY_HEADERS).redirect(`/billing/${token}?notice=done`, 303);
  }

  /** The latest version of each plan BILLING_UPGRADE_PLANS offers. */
  private upgradePlans(): Promise<PlanOffer[]> {
    if (this.config.BILLING_UPGRADE_PLANS.length === 0) return Promise.resolve([]);
    return plans.newestOf(this.dataSource.manager, this.config.BILLING_UPGRADE_PLANS);
  }

  /**
   * The claims of a form post that comes from the billing page itself: a browser's `Origin`
   * (and `Sec-Fetch-Site`, where sent) must be this page's origin (the request's Host, or
   * BILLING_PORTAL_URL_TEMPLATE's behind a proxy). A cross-site post is refused before
   * anything happens; clients that send neither (no browser, so no ambient credentials to
   * abuse) pass on to the form token check.
   */
  private postFromPage(
    token: string,
    headers: Record<string, string | undefined>,
  ): BillingLinkClaims {
    const claims = this.claims(token);
    if (!isSameOrigin(headers, this.config.BILLING_PORTAL_URL_TEMPLATE))
      throw new DomainError(
        'forbidden',
        'Billing forms are accepted only from the billing page itself (Origin check).',
      );
    return claims;
  }

  private claims(token: string): BillingLinkClaims {
    const claims = this.links.verify(token);
    // The same answer for a forged, a foreign and an expired link: nothing to learn from it.
    if (!claims) throw new DomainError('not-found', 'This billing link is invalid or has expired.');
    return claims;
  }
}
