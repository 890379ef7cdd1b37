import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { Aggregation, Meter } from './meter';

/** Meter definitions by event type, kept in memory and reloaded on an interval. */
@Injectable()
export class MetersRepository implements OnModuleInit, OnModuleDestroy {
  private byType = new Map<string, Meter[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MeteringConfig) private readonly config: MeteringConfig,
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
    const rows: {
      key: string;
      event_type: string;
      aggregation: Aggregation;
      value_path: string | null;
    }[] = await this.dataSource.query(
      `SELECT "key", "event_type", "aggregation", "value_path" FROM "metering"."meters"`,
    );
    const byType = new Map<string, Meter[]>();
    for (const r of rows) {
      const list = byType.get(r.event_type) ?? [];
      list.push({
        key: r.key,
        eventType: r.event_type,
        aggregation: r.aggregation,
        valuePath: r.value_path,
      });
      byType.set(r.event_type, list);
    }
    this.byType = byType;
  }
}
