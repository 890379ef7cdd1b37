export { AlertDispatcher, queueAlerts, signAlert } from './alert-dispatcher';
export type { AlertTarget } from './alert-dispatcher';
export { ConsumerStallAlerts } from './consumer-stall-alerts';
export type { ConsumerAlert, StalledConsumer, WatchedConsumer } from './consumer-stall-alerts';
