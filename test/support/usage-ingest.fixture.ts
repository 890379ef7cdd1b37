import { DEAD_LETTER_HEADERS, type UsageRecordedEvent } from '@paygate/contracts';
import { FixedClock } from '@paygate/clock';
import type { InboundMessage } from '@paygate/messaging';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MeteringConfig } from '../../apps/metering/src/config/metering.config';
import { CustomerDirectory } from '../../apps/metering/src/customers/customer-directory';
import { meteringDataSource } from '../../apps/metering/src/database/metering.data-source';
import { DeadLettersService } from '../../apps/metering/src/dead-letters/dead-letters.service';
import { MetersRepository } from '../../apps/metering/src/meters/meters.repository';
import { MetersService } from '../../apps/metering/src/meters/meters.service';
import { UnmatchedEventsRepository } from '../../apps/metering/src/usage/unmatched-events.repository';
import { UsageIngestService } from '../../apps/metering/src/usage/usage-ingest.service';
import { UsageQueryService } from '../../apps/metering/src/usage/usage-query.service';

/**
 * The metering service's ingestion against the real Postgres, without Kafka (the usage-ingest
 * int-specs): an ingest service per unknown-event policy over one meter repository, messages
 * of a topic of its own, and what a batch left in rollups and the outbox.
 */
export class UsageIngestFixture {
  readonly clock = new FixedClock(new Date());
  readonly topic = `${testConfig().kafkaPrefix}test-usage-${randomUUID()}`;
  readonly config = Object.assign(new MeteringConfig(), {
    KAFKA_PREFIX: testConfig().kafkaPrefix,
    METER_REFRESH_MS: 60_000,
    UNKNOWN_METER_POLICY: 'dead-letter',
  });
  private offset = 0;

  dataSource!: DataSource;
  /** Unknown types dead-lettered (the policy of `config`). */
  ingest!: UsageIngestService;
  /** Unknown types skipped (the default policy). */
  skipping!: UsageIngestService;
  /** Unknown types and customers not yet announced held. */
  holdingIngest!: UsageIngestService;
  meters!: MetersService;
  usage!: UsageQueryService;
  deadLetters!: DeadLettersService;
  customers!: CustomerDirectory;
  unmatched!: UnmatchedEventsRepository;

  static async open(): Promise<UsageIngestFixture> {
    const fx = new UsageIngestFixture();
    const dataSource = await meteringDataSource(testConfig().databaseUrl, 4).initialize();
    const repository = new MetersRepository(dataSource, fx.config);
    await repository.reload();
    fx.dataSource = dataSource;
    fx.customers = new CustomerDirectory(dataSource, fx.config);
    fx.unmatched = new UnmatchedEventsRepository(dataSource);
    const withConfig = (config: MeteringConfig) =>
      new UsageIngestService(dataSource, repository, config, fx.clock, fx.customers, fx.unmatched);
    fx.ingest = withConfig(fx.config);
    fx.skipping = withConfig(
      Object.assign(new MeteringConfig(), { KAFKA_PREFIX: testConfig().kafkaPrefix }),
    );
    fx.holdingIngest = withConfig(
      Object.assign(new MeteringConfig(), {
        KAFKA_PREFIX: testConfig().kafkaPrefix,
        UNKNOWN_METER_POLICY: 'hold',
        UNKNOWN_CUSTOMER_POLICY: 'hold',
      }),
    );
    fx.meters = new MetersService(dataSource, repository);
    fx.usage = new UsageQueryService(dataSource);
    fx.deadLetters = new DeadLettersService(dataSource);
    return fx;
  }

  async close(): Promise<void> {
    // These tests run no relay; their queued messages must not leak into a later run's relay.
    await this.dataSource.query(
      `DELETE FROM "metering"."outbox" WHERE "headers"->>$1 = $2 OR "key" LIKE 'itest-%'
         OR "topic" = $2`,
      [DEAD_LETTER_HEADERS.topic, this.topic],
    );
    await this.dataSource.destroy();
  }

  /** A message of this fixture's topic at the next offset (or `at`). */
  message = (value: unknown, at = ++this.offset): InboundMessage => ({
    topic: this.topic,
    partition: 0,
    offset: String(at),
    key: null,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: { itest: 'yes' },
    timestamp: '0',
  });

  /** Minute `n` of the hour before the clock's. */
  minute = (n: number) => {
    const base = this.clock.now().getTime();
    return new Date(base - (base % 3_600_000) - 3_600_000 + n * 60_000).toISOString();
  };

  /** A served-request CloudEvent of `units` for the customer, at minute 15. */
  event = (customer: string, id: string, units: number, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    // Scoped to the customer, which is new each test.
    id: `${customer}/${id}`,
    source: 'itest',
    type: 'dev.paygate.request.served',
    subject: customer,
    time: this.minute(15),
    data: { units },
    ...extra,
  });

  rollup = async (customer: string) =>
    this.dataSource.query(
      `SELECT "bucket_start", "value_sum"::int AS "value", "event_count"::int FROM "metering"."rollups"
       WHERE "customer_id" = $1 AND "meter_key" = 'api_requests'`,
      [customer],
    );

  outboxFor = async (customer: string): Promise<UsageRecordedEvent[]> => {
    const rows: { value: Buffer }[] = await this.dataSource.query(
      `SELECT "value" FROM "metering"."outbox" WHERE "topic" = $1 AND "key" = $2 ORDER BY "id"`,
      [testConfig().topics.usageRecorded, customer],
    );
    return rows.map((r) => JSON.parse(r.value.toString()) as UsageRecordedEvent);
  };
}
