import type { DataSource, EntityManager } from 'typeorm';
import { tables } from '../database/schema';
import type { Aggregation } from './meter';

/** What a meter reads, as a row of meters or meter_versions. */
export interface MeterRow {
  key: string;
  version: number;
  event_type: string;
  aggregation: Aggregation;
  value_path: string | null;
  group_by: Record<string, string>;
}

/** A whole row of meters. */
export interface FullMeterRow extends MeterRow {
  description: string;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

/** A new meter, or what an update makes of one. */
export interface MeterFields {
  eventType: string;
  valuePath: string | null;
  groupBy: Record<string, string>;
  description: string;
}

type Runner = EntityManager | DataSource;

/** The first row a query returns, if any. */
async function first<T>(runner: Runner, sql: string, params: unknown[]): Promise<T | undefined> {
  const [row]: T[] = await runner.query(sql, params);
  return row;
}

/** The SQL of meter definitions (meters) and the versions they went through (meter_versions). */
export const meterDefinitions = {
  /** Inserts a new meter (version 1); undefined when its key is taken. */
  insert(
    manager: EntityManager,
    key: string,
    aggregation: Aggregation,
    fields: MeterFields,
  ): Promise<FullMeterRow | undefined> {
    return first(
      manager,
      `INSERT INTO ${tables.meters} ("key", "event_type", "aggregation", "value_path", "group_by", "description")
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ("key") DO NOTHING RETURNING *`,
      [key, fields.eventType, aggregation, fields.valuePath, fields.groupBy, fields.description],
    );
  },

  /** Rewrites a meter, a version further when `newVersion`. */
  async update(
    manager: EntityManager,
    key: string,
    fields: MeterFields,
    newVersion: boolean,
  ): Promise<FullMeterRow> {
    const [rows]: [FullMeterRow[], number] = await manager.query(
      `UPDATE ${tables.meters} SET "event_type" = $2, "value_path" = $3, "group_by" = $4,
         "description" = $5, "version" = "version" + $6, "updated_at" = now()
       WHERE "key" = $1 RETURNING *`,
      [
        key,
        fields.eventType,
        fields.valuePath,
        fields.groupBy,
        fields.description,
        newVersion ? 1 : 0,
      ],
    );
    return rows[0];
  },

  /** Archives a meter (once: an archived one keeps its first time). */
  async archive(manager: EntityManager, key: string): Promise<FullMeterRow> {
    const [rows]: [FullMeterRow[], number] = await manager.query(
      `UPDATE ${tables.meters} SET "archived_at" = COALESCE("archived_at", now()), "updated_at" = now()
       WHERE "key" = $1 RETURNING *`,
      [key],
    );
    return rows[0];
  },

  find(runner: Runner, key: string): Promise<FullMeterRow | undefined> {
    return first(runner, `SELECT * FROM ${tables.meters} WHERE "key" = $1`, [key]);
  },

  /** Locks the meter's row for the rest of the transaction, if the meter exists. */
  lock(manager: EntityManager, key: string): Promise<FullMeterRow | undefined> {
    return first(manager, `SELECT * FROM ${tables.meters} WHERE "key" = $1 FOR UPDATE`, [key]);
  },

  /** How a meter aggregates and which groups it has, if it exists (archived or not). */
  aggregationOf(
    runner: Runner,
    key: string,
  ): Promise<Pick<FullMeterRow, 'aggregation' | 'group_by'> | undefined> {
    return first(
      runner,
      `SELECT "aggregation", "group_by" FROM ${tables.meters} WHERE "key" = $1`,
      [key],
    );
  },

  /** Every meter by key, archived ones too when asked. */
  list(runner: Runner, includeArchived: boolean): Promise<FullMeterRow[]> {
    return runner.query(
      `SELECT * FROM ${tables.meters} WHERE $1 OR "archived_at" IS NULL ORDER BY "key"`,
      [includeArchived],
    );
  },

  /** What the live (not archived) meters read. */
  active(runner: Runner): Promise<MeterRow[]> {
    return runner.query(
      `SELECT "key", "version", "event_type", "aggregation", "value_path", "group_by"
       FROM ${tables.meters} WHERE "archived_at" IS NULL`,
    );
  },

  async recordVersion(manager: EntityManager, row: MeterRow): Promise<void> {
    await manager.query(
      `INSERT INTO ${tables.meter_versions} ("key", "version", "event_type", "aggregation", "value_path", "group_by")
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.key, row.version, row.event_type, row.aggregation, row.value_path, row.group_by],
    );
  },

  /** A meter's versions, oldest first. */
  versions(runner: Runner, key: string): Promise<(MeterRow & { created_at: Date })[]> {
    return runner.query(
      `SELECT * FROM ${tables.meter_versions} WHERE "key" = $1 ORDER BY "version"`,
      [key],
    );
  },
};
