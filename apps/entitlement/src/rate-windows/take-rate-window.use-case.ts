import { Inject, Injectable } from '@nestjs/common';
import type { TakeRateWindowRequest, TakeRateWindowResponse } from '@paygate/contracts';
import { counter } from '@paygate/observability';
import { DataSource } from 'typeorm';
import { parseTakeRateWindow } from './take-rate-window.input';
import { rateWindows } from './rate-windows.repository';

const taken = counter(
  'paygate_rate_window_units_total',
  'Units of shared rate-limit windows asked for, by outcome: granted, refused (the window was full)',
  ['outcome'],
);

/**
 * Hands gateways slices of a customer's plan rate-limit window (TakeRateWindow): every unit
 * taken of a window is counted here, across all gateways, and no more than the limit is handed
 * out, so N gateways admitting what they took admit at most the limit per window together.
 */
@Injectable()
export class TakeRateWindowUseCase {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Takes up to `units` of the window: `granted` (0 when it is full) and `used`, the units
   * taken of it in all, this call's included.
   * @throws DomainError `validation-failed` naming the bad fields.
   */
  async execute(input: TakeRateWindowRequest): Promise<TakeRateWindowResponse> {
    const take = parseTakeRateWindow(input);
    const result = await this.dataSource.transaction((manager) => rateWindows.take(manager, take));
    if (result.granted > 0) taken.inc({ outcome: 'granted' }, result.granted);
    if (result.granted < take.units) taken.inc({ outcome: 'refused' }, take.units - result.granted);
    return { granted: result.granted, used: result.used };
  }
}
