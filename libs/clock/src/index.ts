export { Clock, SystemClock, FixedClock } from './clock';
export { every } from './every';
export { PeriodicTask, RetentionPruner } from './periodic-task';
