export { REQUEST_ID_HEADER, requestIdFor } from './request-id';
export {
  isUnloggedPath,
  loggableUrl,
  withoutApiKeys,
  loggerModule,
  pinoOptions,
  serviceLogDestination,
} from './logger.module';
export {
  metricsRegistry,
  httpRequestDuration,
  counter,
  gauge,
  histogram,
  hotCounter,
  hotHistogram,
  MetricsController,
} from './metrics';
export type { HotCounter, HotHistogram } from './hot-metrics';
export {
  HealthController,
  publicReason,
  READINESS_CHECKS,
  READINESS_CHECK_TIMEOUT_MS,
  READINESS_TIMEOUT_MS,
  ReadinessFailure,
} from './health';
export type { ReadinessCheck } from './health';
export {
  ADMIN_LISTENER,
  AdminListenerModule,
  AdminServer,
  adminListenerOptions,
  withAdminListener,
} from './admin-server';
export type { AdminListenerConfig, AdminListenerOptions } from './admin-server';
export { within } from './within';
export { tlsReload } from './tls-reload';
export { logProcessWarnings } from './process-warnings';
