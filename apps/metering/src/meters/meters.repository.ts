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
  /** The read of the definitions in progress, if any. */
  private runningRead?: Promise<void>;
  /** The read that starts once runningRead settles, shared by everyone who asked meanwhile. */
  private nextRead?: Promise<void>;

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

  /**
   * Reads the definitions afresh: resolves once a read that began after this call has been
   * applied. Callers share reads, so at most one runs and one waits, however many ask: a flood
   * of events of types no meter reads (each asking, see EventsController.validate) costs the
   * database one query at a time, not one per request. A read already running when this is
   * called began too early (it may miss a meter made a moment ago), so the caller waits for
   * the next one. Reads never overlap, so an older read's answer cannot replace a newer one's.
   */
  reload(): Promise<void> {
    if (this.nextRead) return this.nextRead;
    if (!this.runningRead) return this.read();
    const settled = this.runningRead.then(
      () => undefined,
      () => undefined,
    );
    this.nextRead = settled.then(() => {
      this.nextRead = undefined;
      return this.read();
    });
    return this.nextRead;
  }

  private read(): Promise<void> {
    const read = this.readDefinitions().finally(() => {
      if (this.runningRead === read) this.runningRead = undefined;
    });
    this.runningRead = read;
    return read;
  }

  private async readDefinitions(): Promise<void> {
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
