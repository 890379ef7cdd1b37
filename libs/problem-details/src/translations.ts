import type { ProblemCode } from '@paygate/contracts';
import type { ProblemDetailVariant } from './problem-registry';

/** Languages problem titles and details are served in; English is the registry's own text. */
export const PROBLEM_LANGUAGES = ['en', 'de', 'fr', 'es', 'ja'] as const;
export type ProblemLanguage = (typeof PROBLEM_LANGUAGES)[number];

export interface Translation {
  title: string;
  /** Same `{name}` placeholders as the English detail. */
  detail: string;
}

type Catalogue = Record<ProblemCode, Translation>;

// Each catalogue is a Record over every code: a new code without its translations fails to
// compile, so no language silently falls back to English.
const de: Catalogue = {
  unauthenticated: {
    title: 'Nicht authentifiziert',
    detail:
      'Ein gültiger API-Schlüssel ist erforderlich. Senden Sie ihn als "Authorization: Bearer <Schlüssel>" oder "X-API-Key".',
  },
  forbidden: { title: 'Verboten', detail: 'Dieser API-Schlüssel darf das nicht.' },
  'subscription-expired': {
    title: 'Abonnement abgelaufen',
    detail: 'Ihr Abonnement für {plan} ist beendet. Verlängern Sie es, um fortzufahren.',
  },
  'subscription-past-due': {
    title: 'Zahlung überfällig',
    detail:
      'Ihre letzte Zahlung für {plan} ist fehlgeschlagen und die Kulanzfrist ist abgelaufen. Aktualisieren Sie Ihre Zahlungsmethode, um fortzufahren.',
  },
  'account-suspended': {
    title: 'Konto gesperrt',
    detail:
      'Ihr Konto ist wegen Nichtzahlung gesperrt. Begleichen Sie den offenen Betrag, um fortzufahren.',
  },
  'payment-pending': {
    title: 'Zahlung ausstehend',
    detail: 'Ihre Zahlung wird bearbeitet. Versuchen Sie es gleich noch einmal.',
  },
  'insufficient-credits': {
    title: 'Guthaben nicht ausreichend',
    detail:
      'Diese Anfrage kostet {required} Credits, Ihr Guthaben beträgt {balance}. Laden Sie auf, um fortzufahren.',
  },
  'payment-invalid': {
    title: 'Zahlung nicht angenommen',
    detail:
      'Die mit dieser Anfrage gesendete Zahlung wurde nicht angenommen. Bezahlen Sie eines der Angebote dieser Antwort, um fortzufahren.',
  },
  'payment-expired': {
    title: 'Zahlungsangebot abgelaufen',
    detail:
      'Das Angebot, auf das sich diese Zahlung bezieht, ist abgelaufen. Bezahlen Sie eines der neuen Angebote dieser Antwort.',
  },
  'payment-underpaid': {
    title: 'Zahlung zu niedrig',
    detail:
      'Die Zahlung ist geringer als im Angebot verlangt. Bezahlen Sie eines der Angebote dieser Antwort.',
  },
  'payment-replayed': {
    title: 'Zahlung bereits verwendet',
    detail: 'Diese Zahlung wurde bereits verwendet. Senden Sie eine neue Zahlung, um fortzufahren.',
  },
  'payment-required': {
    title: 'Zahlung erforderlich',
    detail:
      'Diese Ressource wird pro Aufruf bezahlt und braucht kein Konto: Bezahlen Sie eines der Angebote dieser Antwort und senden Sie die Anfrage mit der Zahlung erneut.',
  },
  'payment-unavailable': {
    title: 'Zahlungen nicht verfügbar',
    detail:
      'Zahlungen können gerade nicht abgeschlossen werden. Versuchen Sie es gleich mit derselben Zahlung noch einmal: Sie wird höchstens einmal verwendet.',
  },
  'quota-exhausted': {
    title: 'Kontingent aufgebraucht',
    detail:
      'Sie haben {used} von {limit} Einheiten von {feature} in {plan} verbraucht. Wechseln Sie den Tarif, um fortzufahren.',
  },
  'feature-not-in-plan': {
    title: 'Funktion nicht im Tarif',
    detail:
      'Die Funktion {feature} ist nicht Teil von {plan}. Wechseln Sie den Tarif, um sie zu nutzen.',
  },
  'rate-limited': {
    title: 'Zu viele Anfragen',
    detail: 'Bitte langsamer: Das Anfragelimit Ihres Tarifs ist erreicht.',
  },
  'validation-failed': {
    title: 'Ungültige Anfrage',
    detail: 'Die Anfrage ist ungültig; die fehlerhaften Felder stehen unter errors.',
  },
  'not-found': { title: 'Nicht gefunden', detail: 'Die Ressource existiert nicht.' },
  conflict: {
    title: 'Konflikt',
    detail: 'Die Anfrage steht im Widerspruch zum aktuellen Zustand.',
  },
  'payload-too-large': {
    title: 'Anfrage zu groß',
    detail: 'Der Anfragekörper ist größer als erlaubt.',
  },
  'unsupported-media-type': {
    title: 'Nicht unterstützter Medientyp',
    detail: 'Der Inhaltstyp des Anfragekörpers wird von diesem Endpunkt nicht akzeptiert.',
  },
  'method-not-allowed': {
    title: 'Methode nicht erlaubt',
    detail: 'Dieser Endpunkt unterstützt die Anfragemethode nicht.',
  },
  'bad-request': {
    title: 'Fehlerhafte Anfrage',
    detail: 'Die Anfrage ist fehlerhaft und kann nicht verarbeitet werden.',
  },
  'request-timeout': {
    title: 'Zeitüberschreitung der Anfrage',
    detail: 'Die Anfrage ist nicht rechtzeitig eingegangen.',
  },
  'uri-too-long': {
    title: 'URI zu lang',
    detail: 'Die Anfrage-URI ist länger als erlaubt.',
  },
  'request-header-fields-too-large': {
    title: 'Header-Felder zu groß',
    detail: 'Die Header der Anfrage sind größer als erlaubt.',
  },
  'not-implemented': {
    title: 'Nicht implementiert',
    detail: 'Die Anfragemethode wird von diesem Server nicht unterstützt.',
  },
  'entitlement-unavailable': {
    title: 'Berechtigungsdienst nicht erreichbar',
    detail: 'Der Zugriff konnte gerade nicht geprüft werden. Versuchen Sie es gleich noch einmal.',
  },
  'service-unavailable': {
    title: 'Dienst nicht verfügbar',
    detail: 'Der Dienst nimmt gerade keine Anfragen an. Versuchen Sie es gleich noch einmal.',
  },
  'upstream-unavailable': {
    title: 'Upstream nicht erreichbar',
    detail: 'Der Upstream-Dienst war nicht erreichbar.',
  },
  'upstream-timeout': {
    title: 'Upstream-Zeitüberschreitung',
    detail: 'Der Upstream-Dienst hat nicht rechtzeitig geantwortet.',
  },
  'internal-error': {
    title: 'Interner Fehler',
    detail: 'Bei uns ist etwas schiefgelaufen. Nennen Sie dem Support die Request-ID.',
  },
};

const fr: Catalogue = {
  unauthenticated: {
    title: 'Non authentifié',
    detail:
      'Une clé d’API valide est requise. Envoyez-la comme "Authorization: Bearer <clé>" ou "X-API-Key".',
  },
  forbidden: { title: 'Interdit', detail: 'Cette clé d’API n’est pas autorisée à faire cela.' },
  'subscription-expired': {
    title: 'Abonnement expiré',
    detail: 'Votre abonnement à {plan} est terminé. Renouvelez-le pour continuer.',
  },
  'subscription-past-due': {
    title: 'Paiement en retard',
    detail:
      'Votre dernier paiement pour {plan} a échoué et le délai de grâce est écoulé. Mettez à jour votre moyen de paiement pour continuer.',
  },
  'account-suspended': {
    title: 'Compte suspendu',
    detail: 'Votre compte est suspendu pour défaut de paiement. Réglez le solde dû pour continuer.',
  },
  'payment-pending': {
    title: 'Paiement en attente',
    detail: 'Votre paiement est en cours de traitement. Réessayez dans un instant.',
  },
  'insufficient-credits': {
    title: 'Crédits insuffisants',
    detail:
      'Cette requête coûte {required} crédits mais votre solde est de {balance}. Rechargez pour continuer.',
  },
  'payment-invalid': {
    title: 'Paiement refusé',
    detail:
      'Le paiement envoyé avec cette requête n’a pas été accepté. Payez l’une des offres de cette réponse pour continuer.',
  },
  'payment-expired': {
    title: 'Offre de paiement expirée',
    detail:
      'L’offre à laquelle répond ce paiement a expiré. Payez l’une des nouvelles offres de cette réponse.',
  },
  'payment-underpaid': {
    title: 'Paiement insuffisant',
    detail:
      'Le paiement est inférieur à ce que demande l’offre. Payez l’une des offres de cette réponse.',
  },
  'payment-replayed': {
    title: 'Paiement déjà utilisé',
    detail: 'Ce paiement a déjà été utilisé. Envoyez un nouveau paiement pour continuer.',
  },
  'payment-required': {
    title: 'Paiement requis',
    detail:
      'Cette ressource se paie à l’appel et ne demande aucun compte : payez l’une des offres de cette réponse et renvoyez la requête avec le paiement.',
  },
  'payment-unavailable': {
    title: 'Paiements indisponibles',
    detail:
      'Les paiements ne peuvent pas être finalisés pour le moment. Réessayez dans un instant avec le même paiement : il n’est utilisé qu’une fois.',
  },
  'quota-exhausted': {
    title: 'Quota épuisé',
    detail:
      'Vous avez utilisé {used} des {limit} unités de {feature} incluses dans {plan}. Passez à une offre supérieure pour continuer.',
  },
  'feature-not-in-plan': {
    title: 'Fonctionnalité non incluse',
    detail:
      'La fonctionnalité {feature} ne fait pas partie de {plan}. Changez d’offre pour l’utiliser.',
  },
  'rate-limited': {
    title: 'Trop de requêtes',
    detail: 'Ralentissez : la limite de débit de votre offre est atteinte.',
  },
  'validation-failed': {
    title: 'Requête invalide',
    detail: 'La requête n’est pas valide ; voir errors pour les champs en cause.',
  },
  'not-found': { title: 'Introuvable', detail: 'La ressource n’existe pas.' },
  conflict: { title: 'Conflit', detail: 'La requête est en conflit avec l’état actuel.' },
  'payload-too-large': {
    title: 'Requête trop volumineuse',
    detail: 'Le corps de la requête dépasse la taille autorisée.',
  },
  'unsupported-media-type': {
    title: 'Type de média non pris en charge',
    detail: 'Ce point d’accès n’accepte pas le type de contenu du corps de la requête.',
  },
  'method-not-allowed': {
    title: 'Méthode non autorisée',
    detail: 'Ce point d’accès ne prend pas en charge la méthode de la requête.',
  },
  'bad-request': {
    title: 'Requête incorrecte',
    detail: 'La requête est mal formée et ne peut pas être traitée.',
  },
  'request-timeout': {
    title: 'Délai de requête dépassé',
    detail: 'La requête n’a pas été reçue à temps.',
  },
  'uri-too-long': {
    title: 'URI trop longue',
    detail: 'L’URI de la requête est plus longue que permis.',
  },
  'request-header-fields-too-large': {
    title: 'En-têtes trop volumineux',
    detail: 'Les en-têtes de la requête sont plus volumineux que permis.',
  },
  'not-implemented': {
    title: 'Non implémenté',
    detail: 'La méthode de la requête n’est pas prise en charge par ce serveur.',
  },
  'entitlement-unavailable': {
    title: 'Service des droits indisponible',
    detail: 'L’accès n’a pas pu être vérifié pour le moment. Réessayez dans un instant.',
  },
  'service-unavailable': {
    title: 'Service indisponible',
    detail: 'Le service n’accepte pas de requêtes pour le moment. Réessayez dans un instant.',
  },
  'upstream-unavailable': {
    title: 'Service amont indisponible',
    detail: 'Le service amont n’a pas pu être joint.',
  },
  'upstream-timeout': {
    title: 'Délai du service amont dépassé',
    detail: 'Le service amont n’a pas répondu à temps.',
  },
  'internal-error': {
    title: 'Erreur interne',
    detail:
      'Une erreur s’est produite de notre côté. Indiquez l’identifiant de requête au support.',
  },
};

const es: Catalogue = {
  unauthenticated: {
    title: 'No autenticado',
    detail:
      'Se necesita una clave de API válida. Envíela como "Authorization: Bearer <clave>" o "X-API-Key".',
  },
  forbidden: { title: 'Prohibido', detail: 'Esta clave de API no tiene permiso para hacer esto.' },
  'subscription-expired': {
    title: 'Suscripción vencida',
    detail: 'Su suscripción a {plan} ha terminado. Renuévela para continuar.',
  },
  'subscription-past-due': {
    title: 'Pago vencido',
    detail:
      'Su último pago de {plan} falló y el periodo de gracia ha terminado. Actualice su método de pago para continuar.',
  },
  'account-suspended': {
    title: 'Cuenta suspendida',
    detail:
      'Su cuenta está suspendida por falta de pago. Salde el importe pendiente para continuar.',
  },
  'payment-pending': {
    title: 'Pago pendiente',
    detail: 'Su pago se está procesando. Vuelva a intentarlo en breve.',
  },
  'insufficient-credits': {
    title: 'Créditos insuficientes',
    detail:
      'Esta solicitud cuesta {required} créditos pero su saldo es {balance}. Recargue para continuar.',
  },
  'payment-invalid': {
    title: 'Pago no aceptado',
    detail:
      'El pago enviado con esta solicitud no fue aceptado. Pague una de las ofertas de esta respuesta para continuar.',
  },
  'payment-expired': {
    title: 'Oferta de pago caducada',
    detail:
      'La oferta a la que responde este pago ha caducado. Pague una de las nuevas ofertas de esta respuesta.',
  },
  'payment-underpaid': {
    title: 'Pago insuficiente',
    detail:
      'El pago es inferior a lo que pide la oferta. Pague una de las ofertas de esta respuesta.',
  },
  'payment-replayed': {
    title: 'Pago ya utilizado',
    detail: 'Este pago ya se ha utilizado. Envíe un nuevo pago para continuar.',
  },
  'payment-required': {
    title: 'Pago requerido',
    detail:
      'Este recurso se paga por llamada y no necesita cuenta: pague una de las ofertas de esta respuesta y envíe de nuevo la solicitud con el pago.',
  },
  'payment-unavailable': {
    title: 'Pagos no disponibles',
    detail:
      'Los pagos no se pueden completar en este momento. Vuelva a intentarlo en breve con el mismo pago: se usa como máximo una vez.',
  },
  'quota-exhausted': {
    title: 'Cuota agotada',
    detail:
      'Ha usado {used} de las {limit} unidades de {feature} incluidas en {plan}. Mejore su plan para continuar.',
  },
  'feature-not-in-plan': {
    title: 'Función no incluida en el plan',
    detail: 'La función {feature} no forma parte de {plan}. Mejore su plan para usarla.',
  },
  'rate-limited': {
    title: 'Demasiadas solicitudes',
    detail: 'Reduzca el ritmo: se alcanzó el límite de solicitudes de su plan.',
  },
  'validation-failed': {
    title: 'Solicitud no válida',
    detail: 'La solicitud no es válida; consulte errors para ver los campos con problemas.',
  },
  'not-found': { title: 'No encontrado', detail: 'El recurso no existe.' },
  conflict: { title: 'Conflicto', detail: 'La solicitud entra en conflicto con el estado actual.' },
  'payload-too-large': {
    title: 'Solicitud demasiado grande',
    detail: 'El cuerpo de la solicitud supera el tamaño permitido.',
  },
  'unsupported-media-type': {
    title: 'Tipo de medio no admitido',
    detail: 'Este punto de acceso no acepta el tipo de contenido del cuerpo de la solicitud.',
  },
  'method-not-allowed': {
    title: 'Método no permitido',
    detail: 'Este punto de acceso no admite el método de la solicitud.',
  },
  'bad-request': {
    title: 'Solicitud incorrecta',
    detail: 'La solicitud está mal formada y no se puede procesar.',
  },
  'request-timeout': {
    title: 'Tiempo de solicitud agotado',
    detail: 'La solicitud no se recibió a tiempo.',
  },
  'uri-too-long': {
    title: 'URI demasiado larga',
    detail: 'La URI de la solicitud es más larga de lo permitido.',
  },
  'request-header-fields-too-large': {
    title: 'Encabezados demasiado grandes',
    detail: 'Los encabezados de la solicitud son más grandes de lo permitido.',
  },
  'not-implemented': {
    title: 'No implementado',
    detail: 'Este servidor no admite el método de la solicitud.',
  },
  'entitlement-unavailable': {
    title: 'Servicio de derechos no disponible',
    detail: 'No se pudo comprobar el acceso en este momento. Vuelva a intentarlo en breve.',
  },
  'service-unavailable': {
    title: 'Servicio no disponible',
    detail: 'El servicio no acepta solicitudes en este momento. Vuelva a intentarlo en breve.',
  },
  'upstream-unavailable': {
    title: 'Servicio de origen no disponible',
    detail: 'No se pudo contactar con el servicio de origen.',
  },
  'upstream-timeout': {
    title: 'Tiempo de espera del servicio de origen',
    detail: 'El servicio de origen no respondió a tiempo.',
  },
  'internal-error': {
    title: 'Error interno',
    detail:
      'Algo salió mal por nuestra parte. Indique el id de la solicitud al contactar con soporte.',
  },
};

const ja: Catalogue = {
  unauthenticated: {
    title: '認証されていません',
    detail:
      '有効な API キーが必要です。"Authorization: Bearer <キー>" または "X-API-Key" で送信してください。',
  },
  forbidden: {
    title: '禁止されています',
    detail: 'この API キーではこの操作は許可されていません。',
  },
  'subscription-expired': {
    title: 'サブスクリプションの期限切れ',
    detail: '{plan} のサブスクリプションは終了しました。続けるには更新してください。',
  },
  'subscription-past-due': {
    title: '支払い期限超過',
    detail:
      '{plan} の前回のお支払いに失敗し、猶予期間が終了しました。続けるにはお支払い方法を更新してください。',
  },
  'account-suspended': {
    title: 'アカウント停止中',
    detail: '未払いのためアカウントが停止されています。続けるには未払い残高をお支払いください。',
  },
  'payment-pending': {
    title: '支払い処理中',
    detail: 'お支払いを処理しています。しばらくしてから再度お試しください。',
  },
  'insufficient-credits': {
    title: 'クレジット不足',
    detail:
      'このリクエストには {required} クレジットが必要ですが、残高は {balance} です。続けるにはチャージしてください。',
  },
  'payment-invalid': {
    title: '支払いが受け付けられませんでした',
    detail:
      'このリクエストで送信された支払いは受け付けられませんでした。続行するには、このレスポンスのいずれかのオファーを支払ってください。',
  },
  'payment-expired': {
    title: '支払いオファーの期限切れ',
    detail:
      'この支払いが応答するオファーは期限切れです。このレスポンスの新しいオファーのいずれかを支払ってください。',
  },
  'payment-underpaid': {
    title: '支払い額の不足',
    detail:
      '支払い額がオファーの要求額を下回っています。このレスポンスのいずれかのオファーを支払ってください。',
  },
  'payment-replayed': {
    title: '使用済みの支払い',
    detail: 'この支払いはすでに使用されています。続行するには新しい支払いを送信してください。',
  },
  'payment-required': {
    title: '支払いが必要です',
    detail:
      'このリソースは呼び出しごとの支払いで、アカウントは不要です。このレスポンスのいずれかのオファーを支払い、支払いを付けてリクエストを再送してください。',
  },
  'payment-unavailable': {
    title: '支払いを利用できません',
    detail:
      '現在、支払いを完了できません。しばらくしてから同じ支払いで再試行してください。支払いが使われるのは一度だけです。',
  },
  'quota-exhausted': {
    title: '利用枠の上限に達しました',
    detail:
      '{plan} に含まれる {feature} の {limit} 単位のうち {used} 単位を使用しました。続けるにはプランをアップグレードしてください。',
  },
  'feature-not-in-plan': {
    title: 'プランに含まれない機能',
    detail:
      '{feature} は {plan} に含まれていません。利用するにはプランをアップグレードしてください。',
  },
  'rate-limited': {
    title: 'リクエストが多すぎます',
    detail: 'リクエストの頻度を下げてください。プランのレート制限に達しました。',
  },
  'validation-failed': {
    title: '無効なリクエスト',
    detail: 'リクエストが無効です。問題のあるフィールドは errors を参照してください。',
  },
  'not-found': { title: '見つかりません', detail: 'リソースが存在しません。' },
  conflict: { title: '競合', detail: 'リクエストが現在の状態と競合しています。' },
  'payload-too-large': {
    title: 'リクエストが大きすぎます',
    detail: 'リクエスト本文が許可されたサイズを超えています。',
  },
  'unsupported-media-type': {
    title: 'サポートされていないメディアタイプ',
    detail: 'このエンドポイントはリクエスト本文のコンテンツタイプを受け付けません。',
  },
  'method-not-allowed': {
    title: '許可されていないメソッド',
    detail: 'このエンドポイントはリクエストメソッドをサポートしていません。',
  },
  'bad-request': {
    title: '不正なリクエスト',
    detail: 'リクエストの形式が正しくないため処理できません。',
  },
  'request-timeout': {
    title: 'リクエストタイムアウト',
    detail: 'リクエストが時間内に受信されませんでした。',
  },
  'uri-too-long': {
    title: 'URI が長すぎます',
    detail: 'リクエスト URI が許可されている長さを超えています。',
  },
  'request-header-fields-too-large': {
    title: 'ヘッダーが大きすぎます',
    detail: 'リクエストヘッダーが許可されているサイズを超えています。',
  },
  'not-implemented': {
    title: '未実装',
    detail: 'このサーバーはリクエストメソッドをサポートしていません。',
  },
  'entitlement-unavailable': {
    title: '権利確認サービスを利用できません',
    detail: '現在アクセスを確認できませんでした。しばらくしてから再度お試しください。',
  },
  'service-unavailable': {
    title: 'サービスを利用できません',
    detail: 'サービスは現在リクエストを受け付けていません。しばらくしてから再度お試しください。',
  },
  'upstream-unavailable': {
    title: 'アップストリームに接続できません',
    detail: 'アップストリームのサービスに接続できませんでした。',
  },
  'upstream-timeout': {
    title: 'アップストリームのタイムアウト',
    detail: 'アップストリームのサービスが時間内に応答しませんでした。',
  },
  'internal-error': {
    title: '内部エラー',
    detail: 'こちら側で問題が発生しました。サポートへの連絡時はリクエスト ID をお伝えください。',
  },
};

export const PROBLEM_TRANSLATIONS: Record<Exclude<ProblemLanguage, 'en'>, Catalogue> = {
  de,
  fr,
  es,
  ja,
};

/** PROBLEM_DETAIL_VARIANTS in every other language; a missing one fails to compile. */
export const PROBLEM_DETAIL_VARIANT_TRANSLATIONS: Record<
  Exclude<ProblemLanguage, 'en'>,
  Record<ProblemDetailVariant, string>
> = {
  de: {
    'events-refused':
      'Kein Ereignis dieser Anfrage wurde angenommen: Ein ungültiges Ereignis weist die ganze Anfrage ab. errors nennt jedes ungültige Ereignis mit Index und Feld; korrigieren Sie diese und senden Sie die Anfrage erneut.',
  },
  fr: {
    'events-refused':
      'Aucun événement de cette requête n’a été accepté : un seul événement invalide fait refuser toute la requête. errors indique chaque événement invalide par son index et son champ ; corrigez-les et renvoyez la requête.',
  },
  es: {
    'events-refused':
      'No se aceptó ningún evento de esta solicitud: un solo evento no válido rechaza toda la solicitud. errors indica cada evento no válido por su índice y campo; corríjalos y vuelva a enviar la solicitud.',
  },
  ja: {
    'events-refused':
      'このリクエストのイベントは 1 件も受け付けられていません。無効なイベントが 1 件でもあるとリクエスト全体が拒否されます。errors に無効なイベントがインデックスとフィールドごとに示されています。修正してからリクエストを再送してください。',
  },
};
