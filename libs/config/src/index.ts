export { loadConfig, ConfigError, csv, decimalInteger, envBoolean } from './load-config';
export {
  DEFAULT_DATABASE_URL,
  GRPC_TOKEN_MIN_LENGTH,
  GrpcTokenCharacters,
  NeedsVariables,
  ServiceConfig,
  DatabaseServiceConfig,
} from './service-config';
export { OperatorPortApart } from './operator-port';
export {
  channelTls,
  grpcChannelCredentials,
  grpcServerCredentials,
  type GrpcChannelTlsSettings,
  type GrpcServerTlsSettings,
  type PemFileSetting,
} from './grpc-tls';
export type { TlsReload, TlsReloadEvent } from './tls-reload';
