export { createHttpApp, listen, run } from './http-app';
export type { HttpAppOptions } from './http-app';
export { AdminTokenGuard, ADMIN_TOKEN, BearerTokens } from './admin-token.guard';
export { IdempotencyInterceptor, IDEMPOTENCY_STORE } from './idempotency.interceptor';
export type { IdempotencyStore, IdempotencyClaim } from './idempotency.interceptor';
export { serveOpenApi } from './openapi';
export type { OpenApiOptions } from './openapi';
export { PageQueryDto } from './page-query.dto';
