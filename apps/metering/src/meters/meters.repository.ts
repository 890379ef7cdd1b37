import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import type { Meter } from './meter';
import { MeterRow, meterDefinitions } from './meter-definitions.repository';

/** What a row of meters or meter_versions reads, as the domain's meter. */
export const meterOf = (r: MeterRow): Meter => ({
  key: r.key,
  version: r.version,
  eventType: r.event_type,
  aggregation: r.aggregation,
  valuePath: r.value_path,
  groupBy: r.group_by,
});

/**
 * Current meter definitions by event type, kept in memory for the hot path and reloaded on an
 * interval (and at once by this instance's own meter changes). Archived meters read nothing.
 */
@Injectable()
export class MetersRepository implements OnModuleInit, OnModuleDestroy {
  private byType = new Map<string, Meter[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig) private readonly config: Pick<MeteringConfig, 'METER_REFRESH_MS'>,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(
      () => void this.reload().catch(() => undefined),
      this.config.METER_REFRESH_MS,
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  forType(type: string): Meter[] {
    return this.byType.get(type) ?? [];
  }

  async reload(): Promise<void> {
    const rows = await meterDefinitions.active(this.dataSource);
    const byType = new Map<string, Meter[]>();
    for (const r of rows) {
      const list = byType.get(r.event_type) ?? [];
      list.push(meterOf(r));
      byType.set(r.event_type, list);
    }
    this.byType = byType;
  }
}
