export { Clock, SystemClock, FixedClock } from './clock';
