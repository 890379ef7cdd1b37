import type { ProblemDetailVariant } from '../problem-registry';
import type { Catalogue } from './catalogue';

/** French titles and details of every problem code (a missing one fails to compile). */
export const fr: Catalogue = {
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
      'Cette requête coûte {required} {required|crédit|crédits} mais votre solde est de {balance}. Rechargez pour continuer.',
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
      'Vous avez utilisé {used} sur {limit} {limit|unité|unités} de {feature} {limit|incluse|incluses} dans {plan}. Passez à une offre supérieure pour continuer.',
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
  'customer-blocked': {
    title: 'Compte bloqué',
    detail:
      'Ce compte est bloqué par le fournisseur de l’API. Contactez-le pour le faire débloquer.',
  },
  'concurrency-limited': {
    title: 'Trop de requêtes simultanées',
    detail:
      'Attendez qu’une requête se termine : votre offre permet {limit} {limit|requête simultanée|requêtes simultanées} vers {feature}.',
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
  'expectation-failed': {
    title: 'Attente non satisfaite',
    detail:
      'Le serveur ne peut satisfaire le champ Expect de la requête : seul 100-continue est connu.',
  },
  'http-version-not-supported': {
    title: 'Version HTTP non prise en charge',
    detail: 'Seuls HTTP/1.1 et HTTP/1.0 sont pris en charge : envoyez la requête en HTTP/1.1.',
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

/** French PROBLEM_DETAIL_VARIANTS. */
export const frVariants: Record<ProblemDetailVariant, string> = {
  'events-refused':
    'Aucun événement de cette requête n’a été accepté : un seul événement invalide fait refuser toute la requête. errors indique chaque événement invalide par son index et son champ ; corrigez-les et renvoyez la requête.',
  'no-route': 'Aucune API n’est servie à ce chemin. Vérifiez l’URL dans la documentation de l’API.',
  'path-not-absolute': 'Le chemin doit commencer par « / ».',
  'path-backslash': 'Le chemin ne doit pas contenir de barre oblique inversée.',
  'path-malformed-escape': 'Le chemin contient un encodage-pourcent mal formé.',
  'path-encoded-slash':
    'Le chemin ne doit contenir ni barre oblique encodée ni barre oblique inversée encodée (%2F, %5C).',
  'path-dot-parameters': 'Le chemin contient un segment point suivi de paramètres.',
  'target-other-host': 'La cible de la requête nomme un autre hôte que l’en-tête Host.',
};
