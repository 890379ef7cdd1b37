import type { ProblemDetailVariant } from '../problem-registry';
import type { Catalogue } from './catalogue';

/** Spanish titles and details of every problem code (a missing one fails to compile). */
export const es: Catalogue = {
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
      'Esta solicitud cuesta {required} {required|crédito|créditos} pero su saldo es {balance}. Recargue para continuar.',
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
      'Ha usado {used} de {limit} {limit|unidad|unidades} de {feature} {limit|incluida|incluidas} en {plan}. Mejore su plan para continuar.',
  },
  'feature-not-in-plan': {
    title: 'Función no incluida en el plan',
    detail: 'La función {feature} no forma parte de {plan}. Mejore su plan para usarla.',
  },
  'rate-limited': {
    title: 'Demasiadas solicitudes',
    detail: 'Reduzca el ritmo: se alcanzó el límite de solicitudes de su plan.',
  },
  'customer-blocked': {
    title: 'Cuenta bloqueada',
    detail:
      'El proveedor de la API ha bloqueado esta cuenta. Póngase en contacto con él para desbloquearla.',
  },
  'concurrency-limited': {
    title: 'Demasiadas solicitudes simultáneas',
    detail:
      'Espere a que termine una solicitud: su plan permite {limit} {limit|solicitud simultánea|solicitudes simultáneas} a {feature}.',
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
  'expectation-failed': {
    title: 'Expectativa no satisfecha',
    detail:
      'El servidor no puede cumplir el campo Expect de la solicitud: solo se conoce 100-continue.',
  },
  'http-version-not-supported': {
    title: 'Versión de HTTP no admitida',
    detail: 'Solo se admiten HTTP/1.1 y HTTP/1.0: envíe la solicitud en HTTP/1.1.',
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

/** Spanish PROBLEM_DETAIL_VARIANTS. */
export const esVariants: Record<ProblemDetailVariant, string> = {
  'events-refused':
    'No se aceptó ningún evento de esta solicitud: un solo evento no válido rechaza toda la solicitud. errors indica cada evento no válido por su índice y campo; corríjalos y vuelva a enviar la solicitud.',
  'no-route':
    'No se ofrece ninguna API en esta ruta. Compruebe la URL en la documentación de la API.',
  'path-not-absolute': 'La ruta debe empezar por «/».',
  'path-backslash': 'La ruta no debe contener una barra invertida.',
  'path-malformed-escape': 'La ruta tiene una codificación por porcentaje mal formada.',
  'path-encoded-slash': 'La ruta no debe contener una barra ni una barra invertida codificadas.',
  'path-dot-parameters': 'La ruta tiene un segmento de punto con parámetros.',
  'target-other-host':
    'El destino de la solicitud nombra un host distinto del indicado en la cabecera Host.',
};
