export { loadConfig, ConfigError, csv } from './load-config';
export { ServiceConfig, DatabaseServiceConfig } from './service-config';
