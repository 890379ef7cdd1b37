import type { CheckResponse } from '@paygate/contracts';
import type { ProblemInput } from '@paygate/problem-details';

/** A payment being processed settles within seconds to minutes: worth asking again then. */
const PAYMENT_PENDING_RETRY_AFTER_SECONDS = 30;

/** 401 with the scheme an API key is sent in. */
export function unauthenticated(): ProblemInput {
  return { code: 'unauthenticated', headers: { 'www-authenticate': 'Bearer realm="paygate"' } };
}

/** The problem a refused decision answers with: its code and the numbers behind it. */
export function denialProblem(decision: CheckResponse): ProblemInput {
  const d = decision.denial;
  if (!d) return { code: 'forbidden' };
  if (d.code === 'unauthenticated') return unauthenticated();
  return {
    code: d.code,
    ...(d.code === 'payment-pending'
      ? { headers: { 'retry-after': String(PAYMENT_PENDING_RETRY_AFTER_SECONDS) } }
      : {}),
    extensions: {
      link: d.link,
      plan: d.plan,
      feature: d.feature,
      balance: d.balance,
      required: d.required,
      limit: d.limit,
      used: d.used,
      resetsAt: d.resetsAt,
    },
  };
}

/** The credits a refused request lacks: required minus available, when the denial says both. */
export function shortfallOf(decision: CheckResponse): number {
  const d = decision.denial;
  return d?.required !== undefined && d.balance !== undefined ? d.required - d.balance : 1;
}
