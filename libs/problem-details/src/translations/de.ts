import type { ProblemDetailVariant } from '../problem-registry';
import type { Catalogue } from './catalogue';

/** German titles and details of every problem code (a missing one fails to compile). */
export const de: Catalogue = {
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
      'Diese Anfrage kostet {required} {required|Credit|Credits}, Ihr Guthaben beträgt {balance}. Laden Sie auf, um fortzufahren.',
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
      'Sie haben {used} von {limit} {limit|Einheit|Einheiten} von {feature} in {plan} verbraucht. Wechseln Sie den Tarif, um fortzufahren.',
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
  'customer-blocked': {
    title: 'Konto gesperrt',
    detail:
      'Dieses Konto wurde vom API-Anbieter gesperrt. Wenden Sie sich an ihn, um es entsperren zu lassen.',
  },
  'concurrency-limited': {
    title: 'Zu viele gleichzeitige Anfragen',
    detail:
      'Warten Sie, bis eine Anfrage beendet ist: Ihr Tarif erlaubt {limit} gleichzeitige {limit|Anfrage|Anfragen} an {feature}.',
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
  'expectation-failed': {
    title: 'Erwartung nicht erfüllbar',
    detail:
      'Der Server kann das Expect-Feld der Anfrage nicht erfüllen: nur 100-continue ist bekannt.',
  },
  'http-version-not-supported': {
    title: 'HTTP-Version nicht unterstützt',
    detail: 'Nur HTTP/1.1 und HTTP/1.0 werden unterstützt: Senden Sie die Anfrage über HTTP/1.1.',
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

/** German PROBLEM_DETAIL_VARIANTS. */
export const deVariants: Record<ProblemDetailVariant, string> = {
  'events-refused':
    'Kein Ereignis dieser Anfrage wurde angenommen: Ein ungültiges Ereignis weist die ganze Anfrage ab. errors nennt jedes ungültige Ereignis mit Index und Feld; korrigieren Sie diese und senden Sie die Anfrage erneut.',
  'no-route':
    'Unter diesem Pfad wird keine API angeboten. Prüfen Sie die URL anhand der API-Dokumentation.',
  'path-not-absolute': 'Der Pfad muss mit „/“ beginnen.',
  'path-backslash': 'Der Pfad darf keinen Backslash enthalten.',
  'path-malformed-escape': 'Der Pfad enthält eine fehlerhafte Prozentkodierung.',
  'path-encoded-slash': 'Der Pfad darf keinen kodierten Schrägstrich oder Backslash enthalten.',
  'path-dot-parameters': 'Der Pfad enthält ein Punktsegment mit Parametern.',
  'target-other-host': 'Das Anfrageziel nennt einen anderen Host als den im Host-Header.',
};
