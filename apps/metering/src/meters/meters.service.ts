import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@paygate/problem-details';
import { DataSource, EntityManager } from 'typeorm';
import { lockHolds, meterHoldKey, releaseHeld } from '../customers/holds';
import type { CreateMeterDto, UpdateMeterDto } from './meter.dto';
import { Aggregation } from './meter';
import { MeterRow, MetersRepository } from './meters.repository';

export interface MeterView {
  key: string;
  version: number;
  eventType: string;
  aggregation: Aggregation;
  valuePath: string | null;
  groupBy: Record<string, string>;
  description: string;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export interface MeterVersionView {
  version: number;
  eventType: string;
  valuePath: string | null;
  groupBy: Record<string, string>;
  createdAt: string;
}

interface FullMeterRow extends MeterRow {
  description: string;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

const view = (r: FullMeterRow): MeterView => ({
  key: r.key,
  version: r.version,
  eventType: r.event_type,
  aggregation: r.aggregation,
  valuePath: r.value_path,
  groupBy: r.group_by,
  description: r.description,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
  archivedAt: r.archived_at ? new Date(r.archived_at).toISOString() : null,
});

/**
 * Meter definitions. A change that alters what is read (event type, value path, groups)
 * becomes a new version; rollups carry the version they were made with, so history is never
 * reinterpreted.
 */
@Injectable()
export class MetersService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly repository: MetersRepository,
  ) {}

  async create(dto: CreateMeterDto): Promise<MeterView> {
    const valuePath = dto.valuePath ?? null;
    if (dto.aggregation !== 'count' && valuePath === null) {
      throw new DomainError('validation-failed', `a ${dto.aggregation} meter needs a valuePath`, {
        errors: [{ field: 'valuePath', message: `valuePath is required for ${dto.aggregation}` }],
      });
    }
    const meter = await this.dataSource.transaction(async (manager) => {
      const rows: FullMeterRow[] = await manager.query(
        `INSERT INTO "metering"."meters" ("key", "event_type", "aggregation", "value_path", "group_by", "description")
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ("key") DO NOTHING RETURNING *`,
        [
          dto.key,
          dto.eventType,
          dto.aggregation,
          valuePath,
          dto.groupBy ?? {},
          dto.description ?? '',
        ],
      );
      if (rows.length === 0) {
        throw new DomainError('conflict', `meter ${dto.key} already exists`, { key: dto.key });
      }
      await this.recordVersion(manager, rows[0]);
      await this.releaseHeld(manager, dto.eventType);
      return rows[0];
    });
    await this.repository.reload();
    return view(meter);
  }

  async update(key: string, dto: UpdateMeterDto): Promise<MeterView> {
    const meter = await this.dataSource.transaction(async (manager) => {
      const current = await this.locked(manager, key);
      if (
        current.aggregation !== 'count' &&
        dto.valuePath === undefined &&
        current.value_path === null
      ) {
        throw new DomainError('validation-failed', 'valuePath is required');
      }
      const next = {
        eventType: dto.eventType ?? current.event_type,
        valuePath: dto.valuePath ?? current.value_path,
        groupBy: dto.groupBy ?? current.group_by,
      };
      const changed =
        next.eventType !== current.event_type ||
        next.valuePath !== current.value_path ||
        JSON.stringify(next.groupBy) !== JSON.stringify(current.group_by);
      const [rows]: [FullMeterRow[], number] = await manager.query(
        `UPDATE "metering"."meters" SET "event_type" = $2, "value_path" = $3, "group_by" = $4,
           "description" = $5, "version" = "version" + $6, "updated_at" = now()
         WHERE "key" = $1 RETURNING *`,
        [
          key,
          next.eventType,
          next.valuePath,
          next.groupBy,
          dto.description ?? current.description,
          changed ? 1 : 0,
        ],
      );
      if (changed) {
        await this.recordVersion(manager, rows[0]);
        await this.releaseHeld(manager, next.eventType);
      }
      return rows[0];
    });
    await this.repository.reload();
    return view(meter);
  }

  /** Stops the meter reading new events; its history stays queryable. */
  async archive(key: string): Promise<MeterView> {
    const meter = await this.dataSource.transaction(async (manager) => {
      await this.locked(manager, key);
      const [rows]: [FullMeterRow[], number] = await manager.query(
        `UPDATE "metering"."meters" SET "archived_at" = COALESCE("archived_at", now()), "updated_at" = now()
         WHERE "key" = $1 RETURNING *`,
        [key],
      );
      return rows[0];
    });
    await this.repository.reload();
    return view(meter);
  }

  async get(key: string): Promise<MeterView & { versions: MeterVersionView[] }> {
    const [row]: FullMeterRow[] = await this.dataSource.query(
      `SELECT * FROM "metering"."meters" WHERE "key" = $1`,
      [key],
    );
    if (!row) throw new DomainError('not-found', `meter ${key} does not exist`, { key });
    const versions: (MeterRow & { created_at: Date })[] = await this.dataSource.query(
      `SELECT * FROM "metering"."meter_versions" WHERE "key" = $1 ORDER BY "version"`,
      [key],
    );
    return {
      ...view(row),
      versions: versions.map((v) => ({
        version: v.version,
        eventType: v.event_type,
        valuePath: v.value_path,
        groupBy: v.group_by,
        createdAt: new Date(v.created_at).toISOString(),
      })),
    };
  }

  async list(includeArchived: boolean): Promise<MeterView[]> {
    const rows: FullMeterRow[] = await this.dataSource.query(
      `SELECT * FROM "metering"."meters" WHERE $1 OR "archived_at" IS NULL ORDER BY "key"`,
      [includeArchived],
    );
    return rows.map(view);
  }

  private async locked(manager: EntityManager, key: string): Promise<FullMeterRow> {
    const [row]: FullMeterRow[] = await manager.query(
      `SELECT * FROM "metering"."meters" WHERE "key" = $1 FOR UPDATE`,
      [key],
    );
    if (!row) throw new DomainError('not-found', `meter ${key} does not exist`, { key });
    return row;
  }

  private async recordVersion(manager: EntityManager, row: MeterRow): Promise<void> {
    await manager.query(
      `INSERT INTO "metering"."meter_versions" ("key", "version", "event_type", "aggregation", "value_path", "group_by")
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.key, row.version, row.event_type, row.aggregation, row.value_path, row.group_by],
    );
  }

  private async releaseHeld(manager: EntityManager, eventType: string): Promise<void> {
    await lockHolds(manager, [meterHoldKey(eventType)]);
    await releaseHeld(manager, 'unknown-meter', 'event_type', eventType);
  }
}
