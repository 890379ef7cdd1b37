import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@paygate/problem-details';
import { DataSource, EntityManager } from 'typeorm';
import { lockHolds, meterHoldKey, releaseHeld } from '../customers/holds';
import type { CreateMeterDto, UpdateMeterDto } from './meter.dto';
import { type Meter, servedEventsProblem } from './meter';
import { FullMeterRow, meterDefinitions } from './meter-definitions.repository';
import { MetersRepository, meterOf } from './meters.repository';

export interface MeterView extends Meter {
  description: string;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export type MeterVersionView = Pick<Meter, 'version' | 'eventType' | 'valuePath' | 'groupBy'> & {
  createdAt: string;
};

const view = (r: FullMeterRow): MeterView => ({
  ...meterOf(r),
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
        errors: [
          { field: 'valuePath', messages: [`valuePath is required for ${dto.aggregation}`] },
        ],
      });
    }
    refuseUnreadable({
      key: dto.key,
      version: 1,
      eventType: dto.eventType,
      aggregation: dto.aggregation,
      valuePath,
      groupBy: dto.groupBy ?? {},
    });
    const meter = await this.dataSource.transaction(async (manager) => {
      const row = await meterDefinitions.insert(manager, dto.key, dto.aggregation, {
        eventType: dto.eventType,
        valuePath,
        groupBy: dto.groupBy ?? {},
        description: dto.description ?? '',
      });
      if (!row) {
        throw new DomainError('conflict', `meter ${dto.key} already exists`, { key: dto.key });
      }
      await meterDefinitions.recordVersion(manager, row);
      await this.releaseHeld(manager, dto.eventType);
      return row;
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
        throw new DomainError('validation-failed', 'valuePath is required', {
          errors: [
            { field: 'valuePath', messages: [`valuePath is required for ${current.aggregation}`] },
          ],
        });
      }
      const next = {
        eventType: dto.eventType ?? current.event_type,
        valuePath: dto.valuePath ?? current.value_path,
        groupBy: dto.groupBy ?? current.group_by,
      };
      refuseUnreadable({
        key,
        version: current.version,
        aggregation: current.aggregation,
        ...next,
      });
      const changed =
        next.eventType !== current.event_type ||
        next.valuePath !== current.value_path ||
        JSON.stringify(next.groupBy) !== JSON.stringify(current.group_by);
      const row = await meterDefinitions.update(
        manager,
        key,
        { ...next, description: dto.description ?? current.description },
        changed,
      );
      if (changed) {
        await meterDefinitions.recordVersion(manager, row);
        await this.releaseHeld(manager, next.eventType);
      }
      return row;
    });
    await this.repository.reload();
    return view(meter);
  }

  /** Stops the meter reading new events; its history stays queryable. */
  async archive(key: string): Promise<MeterView> {
    const meter = await this.dataSource.transaction(async (manager) => {
      await this.locked(manager, key);
      return meterDefinitions.archive(manager, key);
    });
    await this.repository.reload();
    return view(meter);
  }

  async get(key: string): Promise<MeterView & { versions: MeterVersionView[] }> {
    const row = await meterDefinitions.find(this.dataSource, key);
    if (!row) throw new DomainError('not-found', `meter ${key} does not exist`, { key });
    const versions = await meterDefinitions.versions(this.dataSource, key);
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
    const rows = await meterDefinitions.list(this.dataSource, includeArchived);
    return rows.map(view);
  }

  private async locked(manager: EntityManager, key: string): Promise<FullMeterRow> {
    const row = await meterDefinitions.lock(manager, key);
    if (!row) throw new DomainError('not-found', `meter ${key} does not exist`, { key });
    return row;
  }

  private async releaseHeld(manager: EntityManager, eventType: string): Promise<void> {
    await lockHolds(manager, [meterHoldKey(eventType)]);
    await releaseHeld(manager, 'unknown-meter', 'event_type', eventType);
  }
}

/** A meter of the gateway's own events that would refuse every one of them: 400. */
function refuseUnreadable(meter: Meter): void {
  const problem = servedEventsProblem(meter);
  if (problem)
    throw new DomainError('validation-failed', problem, {
      errors: [{ field: 'valuePath', messages: [problem] }],
    });
}
