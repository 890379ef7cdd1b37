import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { toSafeInt } from '@paygate/database';
import { AdminTokenGuard, PageQueryDto } from '@paygate/http';
import { DataSource } from 'typeorm';

interface DeadLetterView {
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  detail: string;
  createdAt: string;
}

/** Recent dead letters, newest first, so operators see why events were refused. */
@Controller('v1/dead-letters')
@UseGuards(AdminTokenGuard)
export class DeadLettersController {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  @Get()
  async recent(@Query() query: PageQueryDto): Promise<{ deadLetters: DeadLetterView[] }> {
    const rows: {
      topic: string;
      partition: number;
      offset: string;
      reason: string;
      detail: string;
      created_at: Date;
    }[] = await this.dataSource.query(
      `SELECT * FROM "metering"."dead_letters" ORDER BY "created_at" DESC, "offset" DESC LIMIT $1`,
      [query.limit ?? 50],
    );
    return {
      deadLetters: rows.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: toSafeInt(r.offset),
        reason: r.reason,
        detail: r.detail,
        createdAt: new Date(r.created_at).toISOString(),
      })),
    };
  }
}
