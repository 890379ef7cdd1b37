import { createKafka, ensureTopics } from '@paygate/messaging';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { testConfig } from '../libs/testing/src/test-config';
import { ADMIN_TOKEN, Stack, eventually } from './support/stack';

/** This run's topics (test/support/global-setup.ts gives each run a prefix of its own). */
const topics = testConfig().topics;

const SERVICE_TOKEN = 'e2e-service-token-0123456789';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
type Json = any;
const json = (response: Response): Promise<Json> => response.json();

/**
 * The metering service's own surfaces against real processes: meters over REST, HTTP
 * ingestion, events published with kcat (librdkafka, structured and binary mode), usage
 * reports and dead-letter replay.
 */
describe('metering API (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13701,
      entitlementGrpc: 15751,
      metering: 13702,
      gateway: 18780,
      upstream: 14700,
    },
    'metering-api-',
  );
  const run = randomUUID().slice(0, 8);
  const topic = `${topics.usage}.e2e-api-${run}`;
  const type = `dev.example.llm.completion.${run}`;
  const meterKey = `llm_tokens_${run}`;
  // Customer ids are UUIDs (a usage event's subject must be one).
  const customer = randomUUID();
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  let base: string;

  beforeAll(async () => {
    await ensureTopics(createKafka('e2e-metering-api', testConfig().kafkaBrokers), [
      { name: topic, partitions: 3 },
    ]);
    await stack.start(['metering'], {
      USAGE_TOPIC: topic,
      USAGE_GROUP_ID: `e2e-api-${run}`,
      SERVICE_TOKENS: SERVICE_TOKEN,
      // The replay case below needs unmetered events dead-lettered (the default skips them).
      UNKNOWN_METER_POLICY: 'dead-letter',
    });
    base = stack.url('metering');
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = admin) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const event = (id: string, data: Record<string, unknown>, eventType = type) => ({
    specversion: '1.0',
    id,
    source: `e2e/${run}`,
    type: eventType,
    subject: customer,
    time: new Date().toISOString(),
    data,
  });

  const usage = (query: string) =>
    fetch(`${base}/v1/usage?customerId=${customer}&meterKey=${meterKey}${query}`, {
      headers: admin,
    }).then(json);

  it('manages meters with problem+json for bad input', async () => {
    const created = await post('/v1/meters', {
      key: meterKey,
      eventType: type,
      aggregation: 'sum',
      valuePath: '$.tokens',
      groupBy: { model: '$.model' },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ key: meterKey, version: 1 });

    const again = await post('/v1/meters', {
      key: meterKey,
      eventType: type,
      aggregation: 'count',
    });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');

    const bad = await post('/v1/meters', { key: 'Bad Key', aggregation: 'median', groupBy: [] });
    expect(bad.status).toBe(400);
    const problem = await json(bad);
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      ['aggregation', 'eventType', 'groupBy', 'key'].sort(),
    );
    // A description and an event type show as stored: no control, bidi-control or hidden
    // characters (an event type with one could never match an event: their types refuse them).
    const hidden = await post('/v1/meters', {
      key: `hidden_${run}`,
      eventType: `${type}\u2066`,
      aggregation: 'count',
      description: 'tokens\u202e(reversed)',
    });
    expect(hidden.status).toBe(400);
    expect((await json(hidden)).errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'description',
      'eventType',
    ]);
    const hiddenPatch = await fetch(`${base}/v1/meters/${meterKey}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ description: 'Goodwill\rEvil' }),
    });
    expect(hiddenPatch.status).toBe(400);
    expect((await json(hiddenPatch)).errors.map((e: { field: string }) => e.field)).toEqual([
      'description',
    ]);
    const missingPath = await post('/v1/meters', {
      key: `x_${run}`,
      eventType: type,
      aggregation: 'max',
    });
    expect(missingPath.status).toBe(400);
    // A meter of the gateway's own events that reads what they do not carry would
    // dead-letter every served request (and its billing): refused, naming what they carry.
    const unreadable = await post('/v1/meters', {
      key: `latency_${run}`,
      eventType: 'dev.paygate.request.served',
      aggregation: 'max',
      valuePath: '$.latencyMs',
    });
    expect(unreadable.status).toBe(400);
    const refusal = await json(unreadable);
    expect(refusal.errors).toEqual([
      { field: 'valuePath', messages: [expect.stringContaining('$.units, $.feature')] },
    ]);
    const unknownMeter = await fetch(`${base}/v1/meters/latency_${run}`, { headers: admin });
    expect(unknownMeter.status).toBe(404);

    // A reversed window is a mistake named, not an empty answer.
    const reversed = await fetch(
      `${base}/v1/usage?customerId=${customer}&meterKey=${meterKey}` +
        '&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      { headers: admin },
    );
    expect(reversed.status).toBe(400);
    expect((await json(reversed)).errors).toEqual([
      { field: 'to', messages: ['to must not be before from'] },
    ]);

    const unknown = await fetch(`${base}/v1/meters/nope_${run}`, { headers: admin });
    expect(unknown.status).toBe(404);
    // The aggregation of a meter cannot change: its history was made with it.
    const patch = await fetch(`${base}/v1/meters/${meterKey}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ aggregation: 'max' }),
    });
    expect(patch.status).toBe(400);
  });

  it('takes events over HTTP only with a service token, valid media type and valid events', async () => {
    const batchType = { 'content-type': 'application/cloudevents-batch+json' };
    const token = { authorization: `Bearer ${SERVICE_TOKEN}` };
    expect((await post('/events', [event('h0', { tokens: 1 })], batchType)).status).toBe(401);
    const wrongType = await post('/events', 'tokens=1', {
      ...token,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(wrongType.status).toBe(415);
    const invalid = await post(
      '/events',
      [event('h1', { tokens: 1 }), { ...event('h2', { tokens: 1 }), time: 'yesterday' }],
      { ...token, ...batchType },
    );
    expect(invalid.status).toBe(400);
    expect((await json(invalid)).errors).toEqual([
      { field: '[1].time', messages: [expect.stringContaining('RFC 3339')] },
    ]);
    const malformed = await post('/events', '[{"specversion":', { ...token, ...batchType });
    expect(malformed.status).toBe(400);

    const accepted = await post(
      '/events',
      [
        event('h1', { tokens: 100, model: 'small' }),
        event('h2', { tokens: 300, model: 'large' }),
        event('h1', { tokens: 100, model: 'small' }),
      ],
      { ...token, ...batchType },
    );
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ accepted: 3 });
    const single = await post('/events', event('h3', { tokens: 5, model: 'small' }), {
      ...token,
      'content-type': 'application/cloudevents+json',
    });
    expect(single.status).toBe(202);

    const report = await eventually(
      () => usage('&granularity=day&groupBy=model'),
      (r) => r.total?.events >= 3,
    );
    expect(report.total).toEqual({ value: 405, events: 3 });
    expect(report.buckets.map((b: { group: object; value: number }) => [b.group, b.value])).toEqual(
      [
        [{ model: 'large' }, 300],
        [{ model: 'small' }, 105],
      ],
    );
    // A group named twice (repeated or in the list) is a mistake named, as a repeated
    // customerId or meterKey is, not a report with the group twice.
    for (const twice of ['&groupBy=model&groupBy=model', '&groupBy=model,model']) {
      const refused = await usage(twice);
      expect([twice, refused.status, refused.errors]).toEqual([
        twice,
        400,
        [{ field: 'groupBy', messages: ['groupBy must name each group once'] }],
      ]);
    }
  });

  it('consumes events published with kcat in structured and binary mode', async () => {
    const brokers = testConfig().kafkaBrokers.join(',');
    const structured = JSON.stringify(event('k1', { tokens: 7, model: 'kcat' }));
    execFileSync('kcat', ['-P', '-b', brokers, '-t', topic, '-k', customer], {
      input: `${structured}\n`,
    });
    execFileSync(
      'kcat',
      [
        '-P',
        '-b',
        brokers,
        '-t',
        topic,
        '-k',
        customer,
        '-H',
        'ce_specversion=1.0',
        '-H',
        'ce_id=k2',
        '-H',
        `ce_source=e2e/${run}`,
        '-H',
        `ce_type=${type}`,
        '-H',
        `ce_subject=${customer}`,
        '-H',
        `ce_time=${new Date().toISOString()}`,
        '-H',
        'content-type=application/json',
      ],
      { input: `${JSON.stringify({ tokens: 11, model: 'kcat' })}\n` },
    );
    const report = await eventually(
      () => usage('&groupBy=model'),
      // Two kcat runs may land in two batches: wait for both.
      (r) =>
        r.buckets?.some(
          (b: { group: { model: string }; events: number }) =>
            b.group.model === 'kcat' && b.events === 2,
        ),
    );
    const kcat = report.buckets.find((b: { group: { model: string } }) => b.group.model === 'kcat');
    expect(kcat).toMatchObject({ value: 18, events: 2 });
  });

  it('dead-letters an event of an unmetered type and replays it once the meter exists', async () => {
    const laterType = `${type}.later`;
    const token = {
      authorization: `Bearer ${SERVICE_TOKEN}`,
      'content-type': 'application/cloudevents+json',
    };
    expect((await post('/events', event('r1', { tokens: 9 }, laterType), token)).status).toBe(202);
    const letters = await eventually(
      () =>
        fetch(`${base}/v1/dead-letters?reason=unknown-meter&limit=100`, { headers: admin }).then(
          json,
        ),
      (l) =>
        l.deadLetters.some(
          (d: { topic: string; detail: string }) =>
            d.topic === topic && d.detail.includes(laterType),
        ),
    );
    const ours = letters.deadLetters.find(
      (d: { topic: string; detail: string }) => d.topic === topic && d.detail.includes(laterType),
    );
    expect(ours).toMatchObject({ reason: 'unknown-meter', replayedAt: null });

    const laterKey = `later_${run}`;
    await post('/v1/meters', {
      key: laterKey,
      eventType: laterType,
      aggregation: 'sum',
      valuePath: '$.tokens',
    });
    const replay = await post('/v1/dead-letters/replay', { reason: 'unknown-meter' });
    expect(replay.status).toBe(202);
    expect((await json(replay)).replayed).toBeGreaterThanOrEqual(1);
    const report = await eventually(
      () =>
        fetch(`${base}/v1/usage?customerId=${customer}&meterKey=${laterKey}`, {
          headers: admin,
        }).then(json),
      (r) => r.total?.events === 1,
    );
    expect(report.total).toEqual({ value: 9, events: 1 });
  });

  it('reads a customer id spelt in upper case as the customer, and refuses a subject that is none', async () => {
    const token = {
      authorization: `Bearer ${SERVICE_TOKEN}`,
      'content-type': 'application/cloudevents-batch+json',
    };
    const other = randomUUID();
    const answer = await post(
      '/events',
      [
        { ...event(`up-${run}`, { tokens: 4, model: 'large' }), subject: other.toUpperCase() },
        { ...event(`br-${run}`, { tokens: 6, model: 'large' }), subject: `{${other}}` },
      ],
      token,
    );
    expect(answer.status).toBe(202);
    // Counted as the one customer they name, under its canonical id.
    const report = await eventually(
      () =>
        fetch(`${base}/v1/usage?customerId=${other}&meterKey=${meterKey}`, {
          headers: admin,
        }).then(json),
      (r) => r.total?.events === 2,
    );
    expect(report.total).toEqual({ value: 10, events: 2 });
    const upper = await fetch(
      `${base}/v1/usage?customerId=${other.toUpperCase()}&meterKey=${meterKey}`,
      { headers: admin },
    ).then(json);
    // And asked for in any spelling.
    expect(upper.total).toEqual({ value: 10, events: 2 });

    // Usage of someone who is not a customer could never be charged: refused, naming it.
    const refused = await post(
      '/events',
      [{ ...event(`acme-${run}`, { tokens: 1 }), subject: 'acme-corp' }],
      token,
    );
    expect(refused.status).toBe(400);
    expect((await json(refused)).errors).toEqual([
      {
        field: '[0].subject',
        messages: [
          'subject must be the customer id, a UUID like 7c9e6679-7425-40de-944b-e07fc1f90ae7',
        ],
      },
    ]);
  });
});
