export { createHttpApp, listen } from './http-app';
export type { HttpAppOptions } from './http-app';
