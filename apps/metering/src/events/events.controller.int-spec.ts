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
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
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

/** A problem's members these tests read. */
interface Answer {
  code?: string;
  detail?: string;
  errors?: { field: string; messages: string[] }[];
}
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
    // Also on a real socket: app.inject cannot send a header line twice.
    await app.listen(0, '127.0.0.1');
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

  /** A POST /events over a real connection; a header given as a list is sent once a line. */
  const overHttp = (headers: Record<string, string | string[]>, payload: string | Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Answer }>(
      (resolve, reject) => {
        const { port } = app.getHttpServer().address() as AddressInfo;
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/events',
            headers: { authorization: `Bearer ${TOKEN}`, ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: JSON.parse(Buffer.concat(chunks).toString()),
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(payload);
      },
    );

  const event = (id: string, extra: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id,
    source: `int/${run}`,
    type,
    subject: '00000000-0000-4000-8000-000000000001',
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
          'ce-subject': '00000000-0000-4000-8000-000000000001',
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
          subject: '00000000-0000-4000-8000-000000000001',
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

    it('refuses a ce- header or Content-Type given twice (not joined into "a1, a2"), naming it', async () => {
      published.length = 0;
      const headers = {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': type,
        'ce-time': '2026-11-24T09:59:00Z',
        'ce-source': '/mycontext/subcontext',
        'ce-subject': '00000000-0000-4000-8000-000000000001',
      };
      const data = JSON.stringify({ tokens: 5 });
      const twice = await overHttp({ ...headers, 'ce-id': ['a1', 'a2'] }, data);
      expect(twice.status).toBe(400);
      expect(twice.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'ce-id', messages: ['must be sent once'] }],
      });
      const many = await overHttp(
        {
          ...headers,
          'ce-id': `bin-${randomUUID()}`,
          'ce-subject': [
            '00000000-0000-4000-8000-000000000001',
            '00000000-0000-4000-8000-000000000001',
          ],
        },
        data,
      );
      expect(many.body.errors).toEqual([{ field: 'ce-subject', messages: ['must be sent once'] }]);
      const types = await overHttp(
        {
          ...headers,
          'ce-id': `bin-${randomUUID()}`,
          'content-type': ['application/json', 'text/plain'],
        },
        data,
      );
      expect(types.status).toBe(400);
      expect(types.body.errors).toEqual([
        { field: 'content-type', messages: ['must be sent once'] },
      ]);
      expect(published).toEqual([]);
      // The same request with each header once is taken.
      const once = await overHttp({ ...headers, 'ce-id': `bin-${randomUUID()}` }, data);
      expect(once.status).toBe(202);
      expect(published).toEqual([
        expect.objectContaining({ subject: '00000000-0000-4000-8000-000000000001' }),
      ]);
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

  it('refuses a body in a content coding or a charset besides UTF-8 with 415, saying which', async () => {
    published.length = 0;
    const one = JSON.stringify(event(`coded-${randomUUID()}`));
    const gzip = await overHttp(
      { 'content-type': CLOUDEVENTS_JSON, 'content-encoding': 'gzip' },
      gzipSync(one),
    );
    expect(gzip.status).toBe(415);
    expect(gzip.headers['accept-encoding']).toBe('identity');
    expect(gzip.body).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      detail:
        'Content-Encoding gzip is not supported: send the body without a content coding (identity).',
    });
    // A plain body labelled br, and a list of codings over two lines.
    for (const coding of ['br', ['identity', 'GZIP']]) {
      const labelled = await overHttp(
        { 'content-type': CLOUDEVENTS_JSON, 'content-encoding': coding },
        one,
      );
      expect(labelled.status).toBe(415);
      expect(labelled.body.detail).toMatch(/^Content-Encoding (br|GZIP) is not supported/);
    }
    const utf16 = await overHttp(
      { 'content-type': `${CLOUDEVENTS_JSON}; charset=utf-16le` },
      Buffer.from(one, 'utf16le'),
    );
    expect(utf16.status).toBe(415);
    expect(utf16.body.detail).toBe(
      'charset utf-16le is not supported: the body is read as UTF-8 (send charset=utf-8, or none).',
    );
    expect(published).toEqual([]);
    const taken = await overHttp(
      { 'content-type': `${CLOUDEVENTS_JSON}; charset="UTF-8"`, 'content-encoding': 'identity' },
      one,
    );
    expect(taken.status).toBe(202);
    expect(published).toHaveLength(1);
  });
});
