export { Clock, SystemClock, FixedClock } from './clock';
export { every } from './every';
