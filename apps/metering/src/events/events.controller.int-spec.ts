import { Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Clock, FixedClock } from '@paygate/clock';
import { databaseProviders } from '@paygate/database';
import { createHttpApp } from '@paygate/http';
import { loggerModule } from '@paygate/observability';
import {
  PROBLEM_DETAIL_VARIANTS,
  PROBLEM_DETAIL_VARIANT_TRANSLATIONS,
} from '@paygate/problem-details';
import { testConfig } from '@paygate/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { MeteringConfig } from '../config/metering.config';
import { meteringDataSource } from '../database/metering.data-source';
import { MetersRepository } from '../meters/meters.repository';
import { MetersService } from '../meters/meters.service';
import { CLOUDEVENTS_BATCH_JSON, CLOUDEVENTS_JSON } from './event-intake';
import { EventsController } from './events.controller';
import { EventsPublisher } from './events.publisher';
import { ServiceTokenGuard } from './service-token.guard';

const TOKEN = 'int-service-token-0123456789';
const NOW = new Date('2026-11-24T10:00:00Z');

/**
 * POST /events over real HTTP (Fastify in-process, the app's own JSON parsers, problem filter
 * and guard) against the real meters table. Kafka is replaced by a recording publisher: what
 * is tested is what the edge lets through, and that a refused request publishes nothing.
 */
describe('POST /events (in-process, real Postgres)', () => {
  const run = randomUUID().slice(0, 8);
  const type = `int.llm.completion.${run}`;
  const published: unknown[] = [];
  const publisher = { publish: async (events: unknown[]) => void published.push(...events) };
  let app: NestFastifyApplication;
  let otherInstance: MetersService;

  beforeAll(async () => {
    const config = Object.assign(new MeteringConfig(), {
      DATABASE_URL: testConfig().databaseUrl,
      KAFKA_PREFIX: testConfig().kafkaPrefix,
      SERVICE_TOKENS: [TOKEN],
      METER_REFRESH_MS: 60_000,
    });

    @Module({
      imports: [loggerModule('metering', 'silent')],
      controllers: [EventsController],
      providers: [
        { provide: MeteringConfig, useValue: config },
        { provide: Clock, useValue: new FixedClock(NOW) },
        { provide: EventsPublisher, useValue: publisher },
        ...databaseProviders(() => meteringDataSource(config.DATABASE_URL, 2)),
        MetersRepository,
        ServiceTokenGuard,
      ],
    })
    class EventsTestModule {}

    app = await createHttpApp(EventsTestModule, {
      jsonContentTypes: [CLOUDEVENTS_JSON, CLOUDEVENTS_BATCH_JSON],
    });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    // Meters made through a repository of their own: the app learns of them by reloading.
    const dataSource = app.get(DataSource);
    otherInstance = new MetersService(dataSource, new MetersRepository(dataSource, config));
  });

  afterAll(async () => {
    if (!app) return;
    const dataSource = app.get(DataSource);
    await app.close();
    // Nothing in the app closes its pool (a service's process ends instead).
    await dataSource.destroy();
  });

  beforeEach(() => {
    published.length = 0;
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/events',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': CLOUDEVENTS_BATCH_JSON,
        ...headers,
      },
      payload: JSON.stringify(body),
    });

  const event = (id: string, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id,
    source: `int/${run}`,
    type,
    subject: 'cust-1',
    time: '2026-11-24T09:59:00Z',
    data: { tokens: 5 },
    ...extra,
  });

  it('refuses a batch with any bad event as a whole, naming each by index and field', async () => {
    await otherInstance.create({
      key: `tokens_${run}`,
      eventType: type,
      aggregation: 'sum',
      valuePath: '$.tokens',
    });
    const withoutSubject: Record<string, unknown> = event('e0');
    delete withoutSubject.subject;
    const refused = await post([
      withoutSubject,
      event('e1'),
      event('e2', { time: '2026-11-24T10:05:01Z' }),
      event('e3', { time: '2026-11-21T09:59:59Z' }),
      event('e4', { data: { tokens: 2.5 } }),
      event('e5', { data: 'tokens=5' }),
      event('e6', { type: `unmetered.${run}`, data: { anything: true } }),
    ]);
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    const problem = refused.json();
    expect(problem).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: PROBLEM_DETAIL_VARIANTS['events-refused'],
    });
    expect(problem.errors).toEqual([
      { field: '[0].subject', messages: ['subject must be a non-empty string'] },
      {
        field: '[2].time',
        messages: ['time 2026-11-24T10:05:01Z is more than 300 s in the future'],
      },
      {
        field: '[3].time',
        messages: ['time 2026-11-21T09:59:59Z is older than the late-event window of 72 h'],
      },
      {
        field: '[4].data.tokens',
        messages: [expect.stringMatching(/^meter tokens_\w+: \$\.tokens must be a non-negative/)],
      },
      { field: '[5].data', messages: ['data must be a JSON object'] },
    ]);
    expect(published).toEqual([]);
  });

  it('says so in the asked language', async () => {
    const refused = await post([event('e0', { time: '2026-11-01T00:00:00Z' })], {
      'accept-language': 'de',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-language']).toBe('de');
    expect(refused.json().detail).toBe(PROBLEM_DETAIL_VARIANT_TRANSLATIONS.de['events-refused']);
  });

  it('takes events at the edges of the window and of types no meter reads', async () => {
    const accepted = await post([
      event('e0', { time: '2026-11-21T10:00:00Z' }),
      event('e1', { time: '2026-11-24T10:05:00Z' }),
      event('e2', { type: `unmetered.${run}`, data: { tokens: 'lots' } }),
    ]);
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toEqual({ accepted: 3 });
    expect(published).toHaveLength(3);
  });

  it('checks the values of a meter made on another instance a moment ago', async () => {
    const fresh = `int.fresh.${run}`;
    await otherInstance.create({
      key: `fresh_${run}`,
      eventType: fresh,
      aggregation: 'unique_count',
      valuePath: '$.user',
    });
    const refused = await post(event('e0', { type: fresh, data: { user: '' } }), {
      'content-type': CLOUDEVENTS_JSON,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([
      { field: 'data.user', messages: [expect.stringContaining('non-empty string')] },
    ]);
    expect(published).toEqual([]);
  });

  it('keeps the generic detail for a wrong envelope', async () => {
    const wrong = await post({ not: 'a batch' });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({
      detail: 'The request is not valid; see errors for the failing fields.',
      errors: [{ field: 'body', messages: [expect.stringContaining('must be a JSON array')] }],
    });
  });

  it('accepts an empty batch (valid CloudEvents JSON), publishing nothing', async () => {
    published.length = 0;
    const empty = await post([]);
    expect(empty.statusCode).toBe(202);
    expect(empty.json()).toEqual({ accepted: 0 });
    expect(published).toEqual([]);
  });

  describe('binary content mode (HTTP binding §3.1: ce- headers, the body is data)', () => {
    const binary = (headers: Record<string, string>, data: unknown = { tokens: 5 }) =>
      app.inject({
        method: 'POST',
        url: '/events',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json; charset=utf-8',
          'ce-specversion': '1.0',
          'ce-type': type,
          'ce-time': '2026-11-24T09:59:00Z',
          'ce-id': `bin-${randomUUID()}`,
          'ce-source': '/mycontext/subcontext',
          'ce-subject': 'cust-1',
          ...headers,
        },
        payload: JSON.stringify(data),
      });

    it('accepts an event in ce- headers, percent-decoded, with the content type as sent', async () => {
      published.length = 0;
      const answer = await binary({ 'ce-myextension': 'caf%C3%A9' });
      expect(answer.statusCode).toBe(202);
      expect(answer.json()).toEqual({ accepted: 1 });
      expect(published).toEqual([
        expect.objectContaining({
          specversion: '1.0',
          type,
          source: '/mycontext/subcontext',
          subject: 'cust-1',
          datacontenttype: 'application/json; charset=utf-8',
          myextension: 'café',
          data: { tokens: 5 },
        }),
      ]);
    });

    it('reads a structured event that also carries ce- headers as structured (its media type decides)', async () => {
      published.length = 0;
      const structured = await app.inject({
        method: 'POST',
        url: '/events',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': CLOUDEVENTS_JSON,
          'ce-specversion': '1.0',
          'ce-id': 'ignored',
        },
        payload: JSON.stringify(event(`structured-${randomUUID()}`)),
      });
      expect(structured.statusCode).toBe(202);
      expect(published).toEqual([expect.objectContaining({ data: { tokens: 5 } })]);
    });

    it('refuses a bad binary event by its attributes, and non-JSON data with a 415', async () => {
      published.length = 0;
      const noSubject = await binary({ 'ce-subject': '' });
      expect(noSubject.statusCode).toBe(400);
      expect(noSubject.json().errors).toEqual([
        { field: 'subject', messages: ['subject must be a non-empty string'] },
      ]);
      const badEncoding = await binary({ 'ce-id': '%E0%A4%A' });
      expect(badEncoding.statusCode).toBe(400);
      expect(badEncoding.json().errors).toEqual([
        { field: 'ce-id', messages: ['must be percent-encoded UTF-8'] },
      ]);
      const text = await binary({ 'content-type': 'text/plain' }, 'hello');
      expect(text.statusCode).toBe(415);
      expect(published).toEqual([]);
    });
  });

  it('refuses a member repeated in one object, and bytes that are not UTF-8, naming them', async () => {
    published.length = 0;
    const send = (payload: string | Buffer) =>
      app.inject({
        method: 'POST',
        url: '/events',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': CLOUDEVENTS_JSON },
        payload,
      });
    const one = JSON.stringify(event(`dup-${randomUUID()}`));
    const twice = await send(
      one.replace('"data":{"tokens":5}', '"data":{"tokens":5,"tokens":500}'),
    );
    expect(twice.statusCode).toBe(400);
    expect(twice.json().errors).toEqual([
      { field: 'tokens', messages: ['must appear once in its object'] },
    ]);
    // The bytes of a lone surrogate (CESU-8) in the id: a lenient decoder makes them U+FFFD.
    const bytes = Buffer.from(one);
    const at = bytes.indexOf('"dup-') + 1;
    const broken = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from([0xed, 0xa0, 0x80]),
      bytes.subarray(at),
    ]);
    const notUtf8 = await send(broken);
    expect(notUtf8.statusCode).toBe(400);
    expect(notUtf8.json().errors).toEqual([{ field: 'body', messages: ['must be UTF-8'] }]);
    expect(published).toEqual([]);
  });
});
