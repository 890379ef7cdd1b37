import type { ProblemCode } from '@paygate/contracts';
import type { ProblemLanguage } from './translations';

/**
 * What a detail says when the problem lacks some of the members its template names (a 402
 * for a customer without a subscription has no `plan`): per language and code, details with
 * fewer placeholders, most specific first, the last with none. The first one whose
 * placeholders can all be filled is served, so no `{name}` ever reaches a caller.
 * problem.spec.ts renders every code in every language with no members at all.
 */
export const PROBLEM_DETAIL_FALLBACKS: Record<
  ProblemLanguage,
  Partial<Record<ProblemCode, readonly string[]>>
> = {
  en: {
    'subscription-expired': ['Your subscription has ended. Renew it to continue.'],
    'subscription-past-due': [
      'Your last payment failed and the grace period has ended. Update your payment method to continue.',
    ],
    'insufficient-credits': [
      'This request costs {required} {required|credit|credits}, more than your balance. Top up to continue.',
      'Your balance of {balance} {balance|credit|credits} is too low for this request. Top up to continue.',
      'Your credit balance is too low for this request. Top up to continue.',
    ],
    'quota-exhausted': [
      'You have used all units of {feature} included in {plan}. Upgrade to continue.',
      'You have used all units of {feature} included in your plan. Upgrade to continue.',
      'You have used all units included in your plan. Upgrade to continue.',
    ],
    'feature-not-in-plan': [
      'The feature {feature} is not part of your plan. Upgrade to use it.',
      'This feature is not part of {plan}. Upgrade to use it.',
      'This feature is not part of your plan. Upgrade to use it.',
    ],
    'concurrency-limited': [
      'Wait for a request to finish: your plan allows {limit} {limit|request|requests} in flight at once.',
      'Wait for a request to finish: your plan limits how many requests may be in flight at once.',
    ],
  },
  de: {
    'subscription-expired': ['Ihr Abonnement ist beendet. Verlängern Sie es, um fortzufahren.'],
    'subscription-past-due': [
      'Ihre letzte Zahlung ist fehlgeschlagen und die Kulanzfrist ist abgelaufen. Aktualisieren Sie Ihre Zahlungsmethode, um fortzufahren.',
    ],
    'insufficient-credits': [
      'Diese Anfrage kostet {required} {required|Credit|Credits}, mehr als Ihr Guthaben. Laden Sie auf, um fortzufahren.',
      'Ihr Guthaben von {balance} {balance|Credit|Credits} reicht für diese Anfrage nicht aus. Laden Sie auf, um fortzufahren.',
      'Ihr Guthaben reicht für diese Anfrage nicht aus. Laden Sie auf, um fortzufahren.',
    ],
    'quota-exhausted': [
      'Sie haben alle Einheiten von {feature} in {plan} verbraucht. Wechseln Sie den Tarif, um fortzufahren.',
      'Sie haben alle Einheiten von {feature} in Ihrem Tarif verbraucht. Wechseln Sie den Tarif, um fortzufahren.',
      'Sie haben alle in Ihrem Tarif enthaltenen Einheiten verbraucht. Wechseln Sie den Tarif, um fortzufahren.',
    ],
    'feature-not-in-plan': [
      'Die Funktion {feature} ist nicht Teil Ihres Tarifs. Wechseln Sie den Tarif, um sie zu nutzen.',
      'Diese Funktion ist nicht Teil von {plan}. Wechseln Sie den Tarif, um sie zu nutzen.',
      'Diese Funktion ist nicht Teil Ihres Tarifs. Wechseln Sie den Tarif, um sie zu nutzen.',
    ],
    'concurrency-limited': [
      'Warten Sie, bis eine Anfrage beendet ist: Ihr Tarif erlaubt {limit} gleichzeitige {limit|Anfrage|Anfragen}.',
      'Warten Sie, bis eine Anfrage beendet ist: Ihr Tarif begrenzt die Zahl gleichzeitiger Anfragen.',
    ],
  },
  fr: {
    'subscription-expired': ['Votre abonnement est terminé. Renouvelez-le pour continuer.'],
    'subscription-past-due': [
      'Votre dernier paiement a échoué et le délai de grâce est écoulé. Mettez à jour votre moyen de paiement pour continuer.',
    ],
    'insufficient-credits': [
      'Cette requête coûte {required} {required|crédit|crédits}, plus que votre solde. Rechargez pour continuer.',
      'Votre solde de {balance} {balance|crédit|crédits} ne suffit pas pour cette requête. Rechargez pour continuer.',
      'Votre solde de crédits ne suffit pas pour cette requête. Rechargez pour continuer.',
    ],
    'quota-exhausted': [
      'Vous avez utilisé toutes les unités de {feature} incluses dans {plan}. Passez à une offre supérieure pour continuer.',
      'Vous avez utilisé toutes les unités de {feature} incluses dans votre offre. Passez à une offre supérieure pour continuer.',
      'Vous avez utilisé toutes les unités incluses dans votre offre. Passez à une offre supérieure pour continuer.',
    ],
    'feature-not-in-plan': [
      'La fonctionnalité {feature} ne fait pas partie de votre offre. Changez d’offre pour l’utiliser.',
      'Cette fonctionnalité ne fait pas partie de {plan}. Changez d’offre pour l’utiliser.',
      'Cette fonctionnalité ne fait pas partie de votre offre. Changez d’offre pour l’utiliser.',
    ],
    'concurrency-limited': [
      'Attendez qu’une requête se termine : votre offre permet {limit} {limit|requête simultanée|requêtes simultanées}.',
      'Attendez qu’une requête se termine : votre offre limite le nombre de requêtes simultanées.',
    ],
  },
  es: {
    'subscription-expired': ['Su suscripción ha terminado. Renuévela para continuar.'],
    'subscription-past-due': [
      'Su último pago falló y el periodo de gracia ha terminado. Actualice su método de pago para continuar.',
    ],
    'insufficient-credits': [
      'Esta solicitud cuesta {required} {required|crédito|créditos}, más que su saldo. Recargue para continuar.',
      'Su saldo de {balance} {balance|crédito|créditos} no alcanza para esta solicitud. Recargue para continuar.',
      'Su saldo de créditos no alcanza para esta solicitud. Recargue para continuar.',
    ],
    'quota-exhausted': [
      'Ha usado todas las unidades de {feature} incluidas en {plan}. Mejore su plan para continuar.',
      'Ha usado todas las unidades de {feature} incluidas en su plan. Mejore su plan para continuar.',
      'Ha usado todas las unidades incluidas en su plan. Mejore su plan para continuar.',
    ],
    'feature-not-in-plan': [
      'La función {feature} no forma parte de su plan. Mejore su plan para usarla.',
      'Esta función no forma parte de {plan}. Mejore su plan para usarla.',
      'Esta función no forma parte de su plan. Mejore su plan para usarla.',
    ],
    'concurrency-limited': [
      'Espere a que termine una solicitud: su plan permite {limit} {limit|solicitud simultánea|solicitudes simultáneas}.',
      'Espere a que termine una solicitud: su plan limita el número de solicitudes simultáneas.',
    ],
  },
  ja: {
    'subscription-expired': ['サブスクリプションは終了しました。続けるには更新してください。'],
    'subscription-past-due': [
      '前回のお支払いに失敗し、猶予期間が終了しました。続けるにはお支払い方法を更新してください。',
    ],
    'insufficient-credits': [
      'このリクエストには {required} クレジットが必要ですが、残高が足りません。続けるにはチャージしてください。',
      '残高 {balance} クレジットではこのリクエストに足りません。続けるにはチャージしてください。',
      'クレジット残高がこのリクエストに足りません。続けるにはチャージしてください。',
    ],
    'quota-exhausted': [
      '{plan} に含まれる {feature} の単位をすべて使用しました。続けるにはプランをアップグレードしてください。',
      'プランに含まれる {feature} の単位をすべて使用しました。続けるにはプランをアップグレードしてください。',
      'プランに含まれる単位をすべて使用しました。続けるにはプランをアップグレードしてください。',
    ],
    'feature-not-in-plan': [
      '{feature} はご利用のプランに含まれていません。利用するにはプランをアップグレードしてください。',
      'この機能は {plan} に含まれていません。利用するにはプランをアップグレードしてください。',
      'この機能はご利用のプランに含まれていません。利用するにはプランをアップグレードしてください。',
    ],
    'concurrency-limited': [
      'リクエストの完了をお待ちください。プランでは同時リクエストは {limit} 件までです。',
      'リクエストの完了をお待ちください。プランでは同時リクエスト数に上限があります。',
    ],
  },
};

/** `{name}`, or `{name|one|other}`: the word for `name`'s number, singular or plural. */
const PLACEHOLDER = /\{(\w+)(?:\|([^|{}]*)\|([^|{}]*))?\}/g;

const filled = (value: unknown) => value !== undefined && value !== null && value !== '';

const pluralRules = new Map<ProblemLanguage, Intl.PluralRules>();

/**
 * 'one' or 'other' for a number in a language, by CLDR's rules (Intl): French says "0 crédit"
 * and "1 crédit", English "0 credits" and "1 credit", Japanese has no plural.
 */
function pluralOf(language: ProblemLanguage, value: unknown): 'one' | 'other' {
  let rules = pluralRules.get(language);
  if (!rules) pluralRules.set(language, (rules = new Intl.PluralRules(language)));
  return rules.select(Number(value)) === 'one' ? 'one' : 'other';
}

/**
 * The first of `templates` whose placeholders the values all fill, filled in. If none does
 * (a template without fallbacks), what is missing becomes "…": never a raw `{name}`. A
 * `{name|one|other}` is the word that agrees with `name` in `language`.
 */
export function renderFilledDetail(
  templates: readonly string[],
  values: Record<string, unknown>,
  language: ProblemLanguage = 'en',
): string {
  const complete = templates.find((t) =>
    [...t.matchAll(PLACEHOLDER)].every(([, name]) => filled(values[name])),
  );
  return (complete ?? templates[0] ?? '').replace(
    PLACEHOLDER,
    (_whole, name: string, one: string | undefined, other: string | undefined) => {
      const value = values[name];
      if (one === undefined || other === undefined) return filled(value) ? String(value) : '…';
      return filled(value) && pluralOf(language, value) === 'one' ? one : other;
    },
  );
}
