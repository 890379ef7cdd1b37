import { createHash } from 'node:crypto';
import type { ProblemCode } from '@paygate/contracts';
import { buildProblem, type ProblemLanguage } from '@paygate/problem-details';
import type { FeatureUsageView } from '../usage/period-usage.service';

export interface BillingPageView {
  language: ProblemLanguage;
  customer: { name: string; email: string | null };
  code: ProblemCode;
  /** What the refused request needed, from the link. */
  required?: number;
  plan: string | null;
  subscriptionStatus: string | null;
  balance: number;
  usage: FeatureUsageView[];
  /** Which actions the configured payment provider offers. */
  actions: {
    topUp: boolean;
    settlePayment: boolean;
    upgrades: { key: string; name: string }[];
    /** The provider's own page (Stripe's customer portal). */
    manage: boolean;
  };
  /** Relative form targets (the page's own path). */
  basePath: string;
  /**
   * The top-up form's CSRF token (BillingLinks.formToken of this page's billing token), sent
   * back as its `nonce`: also the payment's idempotency key, so the form buys once.
   */
  formToken: string;
  notice?: string;
}

/** The page's own words; the reason itself comes from the problem catalogue. */
const LABELS: Record<ProblemLanguage, Record<string, string>> = {
  en: {
    heading: 'Billing',
    why: 'Why your requests are refused',
    plan: 'Plan',
    status: 'Subscription',
    balance: 'Credit balance',
    usage: 'Usage this period',
    topUp: 'Top up credits',
    credits: 'Credits',
    pay: 'Pay the open invoice',
    upgrade: 'Switch to',
    manage: 'Payment method, invoices and plan',
    none: 'Payments are not set up here: contact your provider.',
    done: 'Done. Your next request goes through.',
  },
  de: {
    heading: 'Abrechnung',
    why: 'Warum Ihre Anfragen abgelehnt werden',
    plan: 'Tarif',
    status: 'Abonnement',
    balance: 'Guthaben',
    usage: 'Verbrauch in diesem Zeitraum',
    topUp: 'Guthaben aufladen',
    credits: 'Credits',
    pay: 'Offene Rechnung bezahlen',
    upgrade: 'Wechseln zu',
    manage: 'Zahlungsmethode, Rechnungen und Tarif',
    none: 'Zahlungen sind hier nicht eingerichtet: wenden Sie sich an Ihren Anbieter.',
    done: 'Erledigt. Ihre nächste Anfrage geht durch.',
  },
  fr: {
    heading: 'Facturation',
    why: 'Pourquoi vos requêtes sont refusées',
    plan: 'Offre',
    status: 'Abonnement',
    balance: 'Solde de crédits',
    usage: 'Consommation de la période',
    topUp: 'Recharger des crédits',
    credits: 'Crédits',
    pay: 'Payer la facture en attente',
    upgrade: 'Passer à',
    manage: 'Moyen de paiement, factures et offre',
    none: 'Les paiements ne sont pas configurés ici : contactez votre fournisseur.',
    done: 'C’est fait. Votre prochaine requête passera.',
  },
  es: {
    heading: 'Facturación',
    why: 'Por qué se rechazan sus solicitudes',
    plan: 'Plan',
    status: 'Suscripción',
    balance: 'Saldo de créditos',
    usage: 'Uso en este periodo',
    topUp: 'Recargar créditos',
    credits: 'Créditos',
    pay: 'Pagar la factura pendiente',
    upgrade: 'Cambiar a',
    manage: 'Método de pago, facturas y plan',
    none: 'Los pagos no están configurados aquí: contacte con su proveedor.',
    done: 'Hecho. Su próxima solicitud pasará.',
  },
  ja: {
    heading: 'お支払い',
    why: 'リクエストが拒否される理由',
    plan: 'プラン',
    status: 'サブスクリプション',
    balance: 'クレジット残高',
    usage: '今期の利用量',
    topUp: 'クレジットをチャージ',
    credits: 'クレジット',
    pay: '未払いの請求を支払う',
    upgrade: 'プランを変更',
    manage: '支払い方法・請求書・プラン',
    none: 'ここでは支払いが設定されていません。提供元にお問い合わせください。',
    done: '完了しました。次のリクエストは通ります。',
  },
};

const escapeHtml = (value: unknown) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const STYLE = `
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}
.reason{border-left:4px solid #c2410c;background:#fff7ed;padding:.75rem 1rem;margin:1rem 0}
table{border-collapse:collapse}td{padding:.25rem 1rem .25rem 0}
form{margin:.75rem 0}button{padding:.5rem 1rem;font-size:1rem}
.notice{background:#ecfdf5;border-left:4px solid #047857;padding:.75rem 1rem}
`;

/**
 * The page's Content-Security-Policy: nothing loads or runs but its own stylesheet (by hash;
 * there is no script at all), forms post only to the page itself or to the payment
 * provider's pages it redirects to, and no other site can frame it.
 */
export const BILLING_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "img-src 'self'",
  "form-action 'self' https://checkout.stripe.com https://billing.stripe.com",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers of every billing page response: no caching, sniffing, referrer or framing. */
export const BILLING_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': BILLING_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/** A self-contained HTML page (no scripts, no external assets): forms post to the page's path. */
export function renderBillingPage(view: BillingPageView): string {
  const t = LABELS[view.language];
  const quota = view.usage.find((u) => u.limitPolicy === 'block') ?? view.usage[0];
  // The refusal as its problem would say it (what the page does not know is left out).
  const problem = buildProblem(
    {
      code: view.code,
      extensions: {
        plan: view.plan,
        balance: view.balance,
        required: view.required,
        feature: quota?.feature,
        used: quota?.used,
        limit: quota?.included,
      },
    },
    { instance: view.basePath, requestId: '', language: view.language },
  );
  const detail = problem.detail;
  const usageRows = view.usage
    .map(
      (u) =>
        `<tr><td>${escapeHtml(u.feature)}</td><td data-testid="usage-${escapeHtml(u.feature)}">${escapeHtml(u.used)} / ${escapeHtml(u.included)}</td></tr>`,
    )
    .join('');
  const actions: string[] = [];
  if (view.actions.topUp) {
    actions.push(`<form method="post" action="${escapeHtml(view.basePath)}/top-up">
  <label>${escapeHtml(t.credits)} <input name="credits" type="number" min="1" max="1000000" value="100" required></label>
  <input type="hidden" name="nonce" value="${escapeHtml(view.formToken)}">
  <button type="submit" data-testid="top-up">${escapeHtml(t.topUp)}</button>
</form>`);
  }
  if (view.actions.settlePayment) {
    actions.push(`<form method="post" action="${escapeHtml(view.basePath)}/pay">
  <button type="submit" data-testid="pay">${escapeHtml(t.pay)}</button>
</form>`);
  }
  for (const plan of view.actions.upgrades) {
    actions.push(`<form method="post" action="${escapeHtml(view.basePath)}/plan">
  <input type="hidden" name="plan" value="${escapeHtml(plan.key)}">
  <button type="submit" data-testid="upgrade-${escapeHtml(plan.key)}">${escapeHtml(t.upgrade)}: ${escapeHtml(plan.name)}</button>
</form>`);
  }
  if (view.actions.manage) {
    actions.push(`<form method="post" action="${escapeHtml(view.basePath)}/manage">
  <button type="submit" data-testid="manage">${escapeHtml(t.manage)}</button>
</form>`);
  }
  if (actions.length === 0) actions.push(`<p>${escapeHtml(t.none)}</p>`);
  return `<!doctype html>
<html lang="${view.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(t.heading)} – ${escapeHtml(view.customer.name)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(t.heading)}: ${escapeHtml(view.customer.name)}</h1>
${view.notice ? `<p class="notice" data-testid="notice">${escapeHtml(view.notice === 'done' ? t.done : view.notice)}</p>` : ''}
<section class="reason" data-testid="reason" data-code="${escapeHtml(view.code)}">
<h2>${escapeHtml(t.why)}: ${escapeHtml(problem.title)}</h2>
<p>${escapeHtml(detail)}</p>
</section>
<table>
<tr><td>${escapeHtml(t.plan)}</td><td data-testid="plan">${escapeHtml(view.plan ?? '–')}</td></tr>
<tr><td>${escapeHtml(t.status)}</td><td data-testid="status">${escapeHtml(view.subscriptionStatus ?? '–')}</td></tr>
<tr><td>${escapeHtml(t.balance)}</td><td data-testid="balance">${escapeHtml(view.balance)}</td></tr>
</table>
${usageRows ? `<h2>${escapeHtml(t.usage)}</h2><table>${usageRows}</table>` : ''}
${actions.join('\n')}
</body>
</html>
`;
}
