export { loadConfig, ConfigError, csv } from './load-config';
