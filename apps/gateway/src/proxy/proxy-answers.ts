import { counter, hotCounter, hotHistogram } from '@paygate/observability';
import { ProblemInput, writeProblem } from '@paygate/problem-details';
import type { ServerResponse } from 'node:http';
import type { ProxyRequest } from './proxy-request';

/**
 * The status of a request whose caller left before any answer was sent (nginx's "client closed
 * request"): in the access log, and in the usage of one the upstream had whole (charged).
 */
export const CALLER_LEFT = 499;

/** Every proxied request's answer, counted once it is given (`code` empty when served). */
export const requests = hotCounter(
  'paygate_gateway_requests_total',
  'Gateway requests by route, status and problem code',
  ['route', 'status', 'code'],
);
const paymentRequired = counter(
  'paygate_gateway_402_total',
  '402 answers by customer and problem code',
  ['customer', 'code'],
);
export const upstreamLatency = hotHistogram(
  'paygate_gateway_upstream_seconds',
  'Time to upstream response headers',
  ['route'],
);

/**
 * Answers a proxied request with a problem instead of the upstream's answer, and counts it
 * (a 402 also by customer, when the decision named one).
 */
export function refuse(
  request: ProxyRequest,
  res: ServerResponse,
  route: string,
  problem: ProblemInput,
  customerId?: string,
): void {
  writeProblem(res, request, problem);
  requests.inc({ route, status: String(res.statusCode), code: problem.code });
  if (res.statusCode === 402 && customerId)
    paymentRequired.inc({ customer: customerId, code: problem.code });
}
