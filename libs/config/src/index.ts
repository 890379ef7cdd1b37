export { loadConfig, ConfigError, csv, decimalInteger } from './load-config';
export {
  DEFAULT_DATABASE_URL,
  GRPC_TOKEN_MIN_LENGTH,
  GrpcTokenCharacters,
  ServiceConfig,
  DatabaseServiceConfig,
} from './service-config';
export { OperatorPortApart } from './operator-port';
