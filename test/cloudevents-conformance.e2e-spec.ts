import { decodeUsageEvent } from '@paygate/contracts';
import { createKafka, ensureTopics } from '@paygate/messaging';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Consumer, Producer } from 'kafkajs';
import { testConfig } from '../libs/testing/src/test-config';
// The spec's JSON schema (cloudevents/spec, v1), compiled by the SDK; no exports map hides it.
import validateSchema from 'cloudevents/dist/schema/v1';
import {
  Expectation,
  FeatureCase,
  YamlEventFixture,
  featureCases,
  yamlEvents,
} from './support/cloudevents-conformance';
import { ADMIN_TOKEN, ARTIFACTS, Stack, eventually } from './support/stack';

/**
 * The official CloudEvents conformance fixtures (test/fixtures/cloudevents-conformance, read
 * unchanged) through every content mode paygate takes, over HTTP and Kafka, against real
 * processes. The only changes made to a fixture's event are paygate's documented deviations:
 * `subject` is added (the customer; one per case and mode, so each published event can be told
 * apart) and `time` is set to now (the fixtures' 2018 is outside the late window). Each case is
 * then either accepted, and what paygate published (HTTP) or decoded (Kafka) is exactly the
 * fixture's expected attributes and data, or refused and listed in DEVIATIONS with the rule of
 * README.md ("Publishing usage events") that refuses it. A refusal outside the table, or an
 * acceptance inside it, fails the test.
 *
 * Every event sent (the fixture with those two changes) and every event accepted is also held
 * to the spec's own JSON schema, as the CloudEvents SDK for JavaScript ships it compiled: so a
 * refusal is always of a valid event (a deviation), and nothing paygate passes on is invalid.
 */

const validateCloudEventSchema = validateSchema as typeof validateSchema & { errors?: unknown[] };

type Mode = 'HTTP binary' | 'HTTP structured' | 'HTTP batch' | 'Kafka binary' | 'Kafka structured';
const HTTP_MODES: Mode[] = ['HTTP binary', 'HTTP structured', 'HTTP batch'];
const ALL_MODES: Mode[] = [...HTTP_MODES, 'Kafka binary', 'Kafka structured'];

/** Rows of README.md's table of paygate's own rules on top of the spec, as written there. */
const DATA_OBJECT = '`data` a JSON object (no `data_base64`)';
const HTTP_BINARY_JSON = 'HTTP binary mode: `Content-Type: application/json`';

/**
 * Cases paygate refuses on purpose, by case (every mode) or `case × mode` (which wins): the
 * rule that refuses it, and what the refusal must name (an attribute, or `content-type` for
 * an HTTP 415).
 */
const DEVIATIONS: Record<string, { rule: string; field: string }> = {
  // No datacontenttype, so no Content-Type (HTTP binding §3.1.1): paygate cannot tell the
  // body is JSON. (Kafka binary mode without content-type reads the value as JSON.)
  'v1.yaml #0 (binary) × HTTP binary': { rule: HTTP_BINARY_JSON, field: 'content-type' },
  // text/plain
  'v1_minimum.yaml conformance-0001': { rule: DATA_OBJECT, field: 'data' },
  'v1_minimum.yaml conformance-0001 × HTTP binary': { rule: DATA_OBJECT, field: 'content-type' },
  'v1_minimum.yaml conformance-0002': { rule: DATA_OBJECT, field: 'data' },
  'v1_minimum.yaml conformance-0002 × HTTP binary': { rule: DATA_OBJECT, field: 'content-type' },
  // a JSON string
  'v1_minimum.yaml conformance-0003': { rule: DATA_OBJECT, field: 'data' },
  // a JSON array
  'v1_minimum.yaml conformance-0005': { rule: DATA_OBJECT, field: 'data' },
  // application/xml
  'v1_minimum.yaml conformance-0006': { rule: DATA_OBJECT, field: 'data' },
  'v1_minimum.yaml conformance-0006 × HTTP binary': { rule: DATA_OBJECT, field: 'content-type' },
};

interface HttpWire {
  headers: Record<string, string>;
  body: string;
}
interface KafkaWire {
  headers: Record<string, string>;
  value: string;
}

interface Run {
  name: string;
  mode: Mode;
  subject: string;
  time: string;
  expected: Expectation;
  http?: HttpWire;
  kafka?: KafkaWire;
}

type Outcome =
  | { accepted: true; event: Record<string, unknown> }
  | { accepted: false; status: string; fields: string[]; detail: string };

const run = randomUUID().slice(0, 8);
const topics = testConfig().topics;
const usageTopic = `${topics.usage}.e2e-conf-${run}`;
const usageGroup = `e2e-conf-${run}`;
const SERVICE_TOKEN = 'e2e-conf-service-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Now, in the fixtures' own form (seconds, `Z`). */
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

let counter = 0;
// Subjects are customer ids (UUIDs), the run's 8 hex digits first.
const nextSubject = () => `${run}-0000-4000-8000-${(++counter).toString(16).padStart(12, '0')}`;

const isJsonType = (type: string | undefined) =>
  type === undefined || /^application\/(.+\+)?json\b/i.test(type);

/** HTTP binding §3.1.3.2: space, `"`, `%` and what is not printable ASCII, percent-encoded. */
const percentEncode = (value: string) =>
  value.replace(/[^\x21\x23-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));

/** A structured event (JSON format) with paygate's two adjustments. */
function adjustedJson(text: string, subject: string, time: string): Record<string, unknown> {
  return { ...(JSON.parse(text) as Record<string, unknown>), subject, time };
}

function featureRuns(c: FeatureCase): Run[] {
  const runs: Run[] = [];
  const base = (mode: Mode) => ({
    name: `${c.file.replace('-protocol-binding.feature', '')}: ${c.name}`,
    mode,
    subject: nextSubject(),
    time: now(),
    expected: c.expected,
  });
  if (c.http) {
    const headers = Object.fromEntries(
      c.http.headers.filter(([name]) => !/^(host|content-length)$/i.test(name)),
    );
    const contentType = c.http.headers.find(([n]) => /^content-type$/i.test(n))?.[1] ?? '';
    if (/^application\/cloudevents\+json/i.test(contentType)) {
      for (const mode of ['HTTP structured', 'HTTP batch'] as const) {
        const r = base(mode);
        const event = adjustedJson(c.http.body, r.subject, r.time);
        runs.push({
          ...r,
          http:
            mode === 'HTTP structured'
              ? { headers, body: JSON.stringify(event) }
              : {
                  headers: {
                    'Content-Type': contentType.replace(
                      'cloudevents+json',
                      'cloudevents-batch+json',
                    ),
                  },
                  body: JSON.stringify([event]),
                },
        });
      }
    } else {
      const r = base('HTTP binary');
      runs.push({
        ...r,
        http: {
          headers: { ...headers, 'ce-time': r.time, 'ce-subject': r.subject },
          body: c.http.body,
        },
      });
    }
  }
  if (c.kafka) {
    if (/^application\/cloudevents\+json/i.test(c.kafka.headers['content-type'] ?? '')) {
      const r = base('Kafka structured');
      const value = JSON.stringify(adjustedJson(c.kafka.value, r.subject, r.time));
      runs.push({ ...r, kafka: { headers: c.kafka.headers, value } });
    } else {
      const r = base('Kafka binary');
      runs.push({
        ...r,
        kafka: {
          headers: { ...c.kafka.headers, ce_time: r.time, ce_subject: r.subject },
          value: c.kafka.value,
        },
      });
    }
  }
  return runs;
}

/** A YAML event in each mode it applies to, mapped as the fixtures' tool maps it. */
function yamlRuns(e: YamlEventFixture): Run[] {
  const name = `${e.file} ${e.file === 'v1.yaml' ? `#${e.index} (${e.mode})` : e.attributes.id}`;
  const modes =
    e.mode === 'binary'
      ? (['HTTP binary', 'Kafka binary'] as Mode[])
      : e.mode === 'structured'
        ? (['HTTP structured', 'HTTP batch', 'Kafka structured'] as Mode[])
        : ALL_MODES;
  const contentType = e.attributes.datacontenttype;
  // JSON format §3.1: JSON data is JSON in the event, any other data a string.
  const data: unknown = isJsonType(contentType) ? JSON.parse(e.data) : e.data;
  return modes.map((mode) => {
    const subject = nextSubject();
    const time = now();
    const attributes: Record<string, string> = { ...e.attributes, subject, time };
    const run: Run = {
      name,
      mode,
      subject,
      time,
      expected: { attributes: e.attributes, data },
    };
    const { datacontenttype, ...headerAttributes } = attributes;
    const structured = JSON.stringify({ ...attributes, data });
    if (mode === 'HTTP binary') {
      const headers: Record<string, string> = { ...e.transportExtensions };
      for (const [k, v] of Object.entries(headerAttributes)) headers[`ce-${k}`] = percentEncode(v);
      if (datacontenttype !== undefined) headers['Content-Type'] = datacontenttype;
      run.http = { headers, body: e.data };
    } else if (mode === 'HTTP structured') {
      run.http = {
        headers: {
          ...e.transportExtensions,
          'Content-Type': 'application/cloudevents+json; charset=UTF-8',
        },
        body: structured,
      };
    } else if (mode === 'HTTP batch') {
      run.http = {
        headers: {
          ...e.transportExtensions,
          'Content-Type': 'application/cloudevents-batch+json; charset=UTF-8',
        },
        body: `[${structured}]`,
      };
    } else if (mode === 'Kafka binary') {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(headerAttributes)) headers[`ce_${k}`] = v;
      if (datacontenttype !== undefined) headers['content-type'] = datacontenttype;
      run.kafka = { headers, value: e.data };
    } else {
      run.kafka = {
        headers: { 'content-type': 'application/cloudevents+json' },
        value: structured,
      };
    }
    return run;
  });
}

const RUNS: Run[] = [
  ...featureCases('http-protocol-binding.feature').flatMap(featureRuns),
  ...featureCases('kafka-protocol-binding.feature').flatMap(featureRuns),
  ...yamlEvents('v1.yaml').flatMap(yamlRuns),
  ...yamlEvents('v1_minimum.yaml').flatMap(yamlRuns),
];

const deviation = (r: Run) => DEVIATIONS[`${r.name} × ${r.mode}`] ?? DEVIATIONS[r.name];

/** The event paygate must have made of the fixture: its attributes and data, adjusted. */
/** What the CloudEvents 1.0 JSON schema finds wrong with an event (nothing: valid). */
function specErrors(event: Record<string, unknown>): unknown[] {
  return validateCloudEventSchema(event) ? [] : [...(validateCloudEventSchema.errors ?? [])];
}

const expectedEvent = (r: Run) => ({
  ...r.expected.attributes,
  subject: r.subject,
  time: r.time,
  data: r.expected.data,
});

describe('CloudEvents conformance fixtures (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 17721,
      entitlementGrpc: 17751,
      metering: 17722,
      gateway: 17780,
      upstream: 17700,
    },
    'conf-',
  );
  const kafka = createKafka('e2e-conformance', testConfig().kafkaBrokers);
  let producer: Producer;
  let reader: Consumer;
  /** Every event on the usage topic, by key (the subject). */
  const published = new Map<string, string[]>();
  const results: { run: Run; outcome: Outcome }[] = [];

  beforeAll(async () => {
    await ensureTopics(kafka, [{ name: usageTopic, partitions: 1 }]);
    await stack.start(['metering'], {
      USAGE_TOPIC: usageTopic,
      USAGE_GROUP_ID: usageGroup,
      SERVICE_TOKENS: SERVICE_TOKEN,
    });
    producer = kafka.producer();
    await producer.connect();
    reader = kafka.consumer({ groupId: `${testConfig().kafkaPrefix}e2e-conf-reader-${run}` });
    await reader.connect();
    await reader.subscribe({ topic: usageTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? '';
        published.set(key, [...(published.get(key) ?? []), message.value?.toString() ?? '']);
      },
    });
  });

  afterAll(async () => {
    await reader?.disconnect();
    await producer?.disconnect();
    await stack.stop();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(
      join(ARTIFACTS, 'cloudevents-conformance.md'),
      [
        '| case | mode | outcome |',
        '| --- | --- | --- |',
        ...results.map(
          ({ run: r, outcome: o }) =>
            `| ${r.name} | ${r.mode} | ${o.accepted ? 'accepted' : `refused (${o.status}: ${o.detail.slice(0, 160)})`} |`,
        ),
      ].join('\n') + '\n',
    );
  });

  const base = () => stack.url('metering');

  async function sendHttp(r: Run): Promise<Outcome> {
    const response = await fetch(`${base()}/events`, {
      method: 'POST',
      headers: { ...r.http!.headers, authorization: `Bearer ${SERVICE_TOKEN}` },
      body: r.http!.body,
    });
    if (response.status !== 202) {
      const problem = (await response.json()) as {
        title?: string;
        detail?: string;
        errors?: { field: string; messages: string[] }[];
      };
      const errors = problem.errors ?? [];
      return {
        accepted: false,
        status: String(response.status),
        // A 415 is about the Content-Type header.
        fields:
          response.status === 415
            ? ['content-type']
            : errors.map((e) => e.field.replace(/^\[\d+\]\.?/, '')),
        detail:
          errors.length > 0
            ? errors.map((e) => `${e.field}: ${e.messages.join(', ')}`).join('; ')
            : `${problem.title}: ${problem.detail}`,
      };
    }
    expect(await response.json()).toEqual({ accepted: 1 });
    const [value] = await eventually(
      async () => published.get(r.subject) ?? [],
      (values) => values.length > 0,
    );
    return { accepted: true, event: JSON.parse(value) as Record<string, unknown> };
  }

  const unmatchedCount = async (type: string): Promise<number> => {
    const body = (await (
      await fetch(`${base()}/v1/usage/unmatched`, { headers: admin })
    ).json()) as { types: { eventType: string; count: string }[] };
    return Number(body.types.find((t) => t.eventType === type)?.count ?? 0);
  };

  /** Offset the metering group committed on the topic's one partition. */
  const committed = async (): Promise<bigint> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({
        groupId: `${testConfig().kafkaPrefix}${usageGroup}`,
        topics: [usageTopic],
      });
      return BigInt(offsets.partitions[0]?.offset ?? '-1');
    } finally {
      await admin.disconnect();
    }
  };

  async function sendKafka(r: Run): Promise<Outcome> {
    const type = r.expected.attributes.type;
    const before = await unmatchedCount(type);
    const [sent] = await producer.send({
      topic: usageTopic,
      messages: [{ key: r.subject, value: r.kafka!.value, headers: r.kafka!.headers }],
    });
    const offset = BigInt(sent.baseOffset!);
    await eventually(committed, (next) => next > offset);
    const letters = (await (
      await fetch(`${base()}/v1/dead-letters?limit=100`, { headers: admin })
    ).json()) as {
      deadLetters: { topic: string; offset: number; reason: string; detail: string }[];
    };
    const letter = letters.deadLetters.find(
      (l) => l.topic === usageTopic && BigInt(l.offset) === offset,
    );
    if (letter) {
      return {
        accepted: false,
        status: `dead letter ${letter.reason}`,
        fields: [...letter.detail.matchAll(/(?:^|; )(\w+): /g)].map((m) => m[1]),
        detail: letter.detail,
      };
    }
    // No meter reads the fixtures' types: an accepted event is counted as unmatched, once.
    expect(await unmatchedCount(type)).toBe(before + 1);
    // What the consumer made of the message, by the same decoder.
    const headers = Object.fromEntries(
      Object.entries(r.kafka!.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const decoded = decodeUsageEvent(Buffer.from(r.kafka!.value), headers);
    if (!decoded.ok) throw new Error(`accepted, but decodes to ${JSON.stringify(decoded)}`);
    return { accepted: true, event: { ...decoded.event } };
  }

  // Kafka cases one at a time (each waits for the consumer), HTTP cases after them.
  const ordered = [...RUNS.filter((r) => r.kafka), ...RUNS.filter((r) => r.http)];

  it('has every fixture case and mode, and DEVIATIONS names only real cases', () => {
    expect(RUNS.length).toBe(ordered.length);
    const keys = new Set(RUNS.flatMap((r) => [r.name, `${r.name} × ${r.mode}`]));
    expect(Object.keys(DEVIATIONS).filter((k) => !keys.has(k))).toEqual([]);
    expect(new Set(RUNS.map((r) => r.mode))).toEqual(new Set(ALL_MODES));
    // Every rule used is a row of README.md's table of paygate's own rules.
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    for (const { rule } of Object.values(DEVIATIONS)) expect(readme).toContain(`| ${rule} `);
  });

  it.each(ordered.map((r) => [`${r.name} × ${r.mode}`, r] as const))(
    '%s',
    async (_title, r) => {
      // The fixture as sent is a valid CloudEvent: whatever paygate refuses is a deviation.
      expect(specErrors(expectedEvent(r))).toEqual([]);
      const outcome = await (r.http ? sendHttp(r) : sendKafka(r));
      results.push({ run: r, outcome });
      const expectedRefusal = deviation(r);
      if (outcome.accepted) {
        expect({ accepted: true, refusedBy: expectedRefusal?.rule }).toEqual({
          accepted: true,
          refusedBy: undefined,
        });
        expect(outcome.event).toEqual(expectedEvent(r));
        expect(specErrors(outcome.event)).toEqual([]);
      } else {
        expect({ refused: outcome.detail, deviation: expectedRefusal?.rule }).toEqual({
          refused: outcome.detail,
          deviation: expect.any(String),
        });
        expect(outcome.status).toMatch(/^(400|415|dead letter)/);
        expect(outcome.fields).toContain(expectedRefusal.field);
      }
    },
    90_000,
  );

  it('dead-letters a binary-mode message whose ce_ header is not valid UTF-8', async () => {
    const subject = nextSubject();
    const [sent] = await producer.send({
      topic: usageTopic,
      messages: [
        {
          key: subject,
          value: '{"message":"Hello World!"}',
          headers: {
            ce_specversion: '1.0',
            ce_id: Buffer.from([0x31, 0xff, 0x32]),
            ce_source: '/mycontext/subcontext',
            ce_type: 'com.example.someevent',
            ce_subject: subject,
            ce_time: now(),
            'content-type': 'application/json',
          },
        },
      ],
    });
    const offset = Number(sent.baseOffset);
    const letters = await eventually(
      async () =>
        (
          (await (
            await fetch(`${base()}/v1/dead-letters?limit=100`, { headers: admin })
          ).json()) as { deadLetters: { topic: string; offset: number }[] }
        ).deadLetters,
      (l) => l.some((d) => d.topic === usageTopic && d.offset === offset),
    );
    expect(letters.find((d) => d.topic === usageTopic && d.offset === offset)).toMatchObject({
      reason: 'invalid',
      detail: 'id: header ce_id is not valid UTF-8',
    });
  });
});
