import type { Clock } from '@paygate/clock';
import { toSafeInt } from '@paygate/database';
import { counter } from '@paygate/observability';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { AlertSettings } from '../alerts/alert-settings';
import type { FeatureTerms } from '../plans/plans.repository';
import type { CurrentSubscription } from '../subscriptions/subscription-lifecycle.service';
import { costAdmission } from './cost-admission.repository';
import type { CheckInput, Decision } from './decision';
import { softLimitWarning } from './soft-limit-warning';
import { usageWindow } from './usage-window';

/** Postgres errors a statement that wrote nothing may meet: deadlock, serialization failure. */
const RETRYABLE = new Set(['40P01', '40001']);

/** Decisions tried in one statement (admitCostAlone): admitted, or declined to the transaction. */
const oneStatementDecisions = counter(
  'paygate_decisions_one_statement_total',
  "Leases of a request's own cost decided in one statement, by result (declined: decided by the transaction)",
  ['result'],
);

/** What admitCostAlone needs of CheckUseCase. */
export interface CostAdmissionContext {
  dataSource: DataSource;
  clock: Clock;
  /** Alerts are queued only with a URL to send them to (AlertsService.queue). */
  alerts: AlertSettings;
}

/**
 * A lease of the request's own cost (what a quiet key's request asks for) in one statement
 * without a transaction (costAdmission): the same decision as CheckUseCase.reserve's, two round
 * trips in all with the read before it where the transaction makes it six. Undefined when the
 * statement declined and wrote nothing, for the transaction to decide: a lease of more units,
 * a refusal, a first request in the window, a grant due, an alert or a balance taken to 0.
 */
export async function admitCostAlone(
  { dataSource, clock, alerts }: CostAdmissionContext,
  input: CheckInput,
  customerId: string,
  subscription: CurrentSubscription,
  feature: FeatureTerms,
): Promise<Decision | undefined> {
  if ((input.leaseUnits ?? 0) > input.cost) return undefined;
  const included = toSafeInt(feature.included_units);
  const now = clock.now();
  const window = usageWindow(feature.usage_period, subscription, now);
  const leaseId = randomUUID();
  const admitted = await costAdmission
    .admit(dataSource.manager, {
      leaseId,
      customerId,
      subscriptionId: subscription.id,
      featureKey: input.feature,
      periodStart: window.start,
      requestId: input.requestId,
      cost: input.cost,
      included,
      block: feature.limit_policy === 'block',
      price: feature.limit_policy === 'credits' ? toSafeInt(feature.unit_price) : undefined,
      now,
      usagePercents: alerts.url ? alerts.usagePercents : [],
      lowBalance: alerts.url ? alerts.lowBalance : undefined,
      reserve: {
        idempotencyKey: `lease:${leaseId}:reserve`,
        description: `request ${input.requestId}`,
      },
    })
    // A statement chosen as a deadlock's victim (or a serialization failure) wrote nothing:
    // the transaction decides instead.
    .catch((err: unknown) => {
      if (RETRYABLE.has((err as { code?: string }).code ?? '')) return undefined;
      throw err;
    });
  oneStatementDecisions.inc({ result: admitted ? 'admitted' : 'declined' });
  if (!admitted) return undefined;
  const soft = softLimitWarning(feature, included, admitted.used + input.cost, window.end);
  return {
    allowed: true,
    customerId,
    plan: subscription.planKey,
    leaseId,
    leaseUnits: input.cost,
    ...(soft ? { warnings: [soft] } : {}),
  };
}
