export { loadConfig, ConfigError, csv, decimalInteger } from './load-config';
export { DEFAULT_DATABASE_URL, ServiceConfig, DatabaseServiceConfig } from './service-config';
