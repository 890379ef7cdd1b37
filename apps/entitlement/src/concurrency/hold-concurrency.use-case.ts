import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import type { HoldConcurrencyRequest, HoldConcurrencyResponse } from '@paygate/contracts';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { concurrencyHolds } from './concurrency-holds.repository';
import { parseHoldConcurrency } from './hold-concurrency.input';

const slotsCounted = counter(
  'paygate_concurrency_slots_total',
  'Slots of shared concurrency limits asked for, by outcome: granted, refused (others held them)',
  ['outcome'],
);

/**
 * Hands gateways shares of a customer's plan concurrency limit (HoldConcurrency): each gateway
 * replica holds some slots for a while and admits that many requests in flight at once
 * locally; slots held by all of them, unexpired, never sum past the limit, so together they
 * never have more in flight than the plan allows.
 */
@Injectable()
export class HoldConcurrencyUseCase {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * Sets the caller's hold to `slots`, or as many as the other holders leave: `held`, and
   * `inUse`, the slots every holder holds, this one's included.
   * @throws DomainError `validation-failed` naming the bad fields.
   */
  async execute(input: HoldConcurrencyRequest): Promise<HoldConcurrencyResponse> {
    const request = parseHoldConcurrency(input);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + request.holdSeconds * 1000);
    const result = await this.dataSource.transaction((manager) =>
      concurrencyHolds.hold(manager, { ...request, now, expiresAt }),
    );
    if (result.held > 0) slotsCounted.inc({ outcome: 'granted' }, result.held);
    if (result.held < request.slots)
      slotsCounted.inc({ outcome: 'refused' }, request.slots - result.held);
    return { held: result.held, inUse: result.inUse };
  }
}
