import { Inject, Injectable } from '@nestjs/common';
import { queueAlerts } from '@paygate/alerts';
import { ENTITLEMENT_SCHEMA } from '../database/entitlement.data-source';
import type { EntityManager } from 'typeorm';
import { AlertSettings } from './alert-settings';
import { Alert } from './alert';

/**
 * Queues alerts in the transaction that crossed the threshold, so an alert exists if and only
 * if the change committed; AlertDispatcher delivers them. Nothing is queued without a URL.
 */
@Injectable()
export class AlertsService {
  constructor(@Inject(AlertSettings) readonly settings: AlertSettings) {}

  /** Whether a change of a balance may raise an alert (worth reading the balance for). */
  watchesBalance(): boolean {
    return Boolean(this.settings.url) && this.settings.lowBalance !== undefined;
  }

  async queue(manager: EntityManager, alerts: Alert[]): Promise<void> {
    if (!this.settings.url || alerts.length === 0) return;
    await queueAlerts(manager, ENTITLEMENT_SCHEMA, alerts);
  }
}
