import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { featureUsage } from '../usage/feature-usage.repository';

/** Units of a metered feature used in a subscription's period (included units are counted against it). */
@Injectable()
export class FeatureUsageService {
  /**
   * Locks the period's counter row for the rest of the transaction and returns its value;
   * with `takeTurn`, after taking the counter's give-back turn, shared (featureUsage.lock).
   */
  async lock(
    manager: EntityManager,
    subscriptionId: string,
    feature: string,
    periodStart: Date,
    takeTurn = false,
  ): Promise<number> {
    return featureUsage.lock(manager, { subscriptionId, feature, periodStart }, takeTurn);
  }

  async add(
    manager: EntityManager,
    subscriptionId: string,
    feature: string,
    periodStart: Date,
    units: number,
  ): Promise<void> {
    await featureUsage.add(manager, { subscriptionId, feature, periodStart }, units);
  }
}
