import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * A reader for exactly the official CloudEvents conformance fixtures vendored in
 * test/fixtures/cloudevents-conformance (see its README.md): the two Gherkin features (Scenario
 * and Scenario Outline with Examples, an HTTP request or a Kafka message, the expected
 * attributes and data) and the two v1 YAML event files. Not a general Gherkin or YAML-event
 * reader: anything else in a fixture throws, so an updated fixture cannot be half read.
 */
export const FIXTURES = join(__dirname, '..', 'fixtures', 'cloudevents-conformance');

export interface HttpRequestFixture {
  method: string;
  path: string;
  /** In order, as written (names as written; Host and Content-Length included). */
  headers: [string, string][];
  body: string;
}

export interface KafkaMessageFixture {
  headers: Record<string, string>;
  value: string;
}

/** What a receiver must make of the message: its attributes (strings) and its data. */
export interface Expectation {
  attributes: Record<string, string>;
  data: unknown;
}

export interface FeatureCase {
  file: string;
  /** The scenario's name with its example's values filled in. */
  name: string;
  http?: HttpRequestFixture;
  kafka?: KafkaMessageFixture;
  expected: Expectation;
}

/** One event of a YAML file, as the fixtures' own tool (cmd/cloudevents) reads it. */
export interface YamlEventFixture {
  file: string;
  /** The document's index in its file. */
  index: number;
  /** `binary`, `structured`, or undefined (the tool's default: binary). */
  mode?: 'binary' | 'structured';
  /** Context attributes and extensions, values trimmed as the tool does (strings.TrimSpace). */
  attributes: Record<string, string>;
  transportExtensions: Record<string, string>;
  /** The data as the text the file holds (a block scalar keeps its final newline). */
  data: string;
}

const read = (file: string) => readFileSync(join(FIXTURES, file), 'utf8');

/** A Gherkin table: its first row names the columns. */
function table(rows: string[][]): Record<string, string>[] {
  const [head, ...body] = rows;
  return body.map((row) => Object.fromEntries(head.map((name, i) => [name, row[i]])));
}

/** `| key | value |` rows as a map. */
function keyValues(rows: string[][]): Record<string, string> {
  return Object.fromEntries(table(rows).map((r) => [r.key, r.value]));
}

interface Step {
  text: string;
  docString?: string;
  rows?: string[][];
}

interface Scenario {
  name: string;
  steps: Step[];
  examples: Record<string, string>[];
}

/** Scenarios of a feature file with their steps, doc strings, tables and examples. */
function scenarios(text: string): Scenario[] {
  const lines = text.split('\n');
  const found: Scenario[] = [];
  let current: Scenario | undefined;
  let examples = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const scenario = /^Scenario(?: Outline)?: (.+)$/.exec(line);
    if (scenario) {
      current = { name: scenario[1], steps: [], examples: [] };
      found.push(current);
      examples = false;
    } else if (!current || line === '' || line.startsWith('#')) {
      continue;
    } else if (line === 'Examples:') {
      examples = true;
    } else if (line === '"""') {
      // A doc string: its lines lose the indentation of the opening quotes.
      const indent = lines[i].indexOf('"""');
      const body: string[] = [];
      for (i++; lines[i].trim() !== '"""'; i++) body.push(lines[i].slice(indent));
      current.steps[current.steps.length - 1].docString = body.join('\n');
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i].trim().startsWith('|'); i++)
        rows.push(
          lines[i]
            .trim()
            .slice(1, -1)
            .split('|')
            .map((cell) => cell.trim()),
        );
      i--;
      if (examples) current.examples = table(rows);
      else current.steps[current.steps.length - 1].rows = rows;
    } else if (/^(Given|When|Then|And|But) /.test(line)) {
      current.steps.push({ text: line });
    } else {
      throw new Error(`unexpected line in a scenario: ${line}`);
    }
  }
  return found;
}

const fill = (text: string, values: Record<string, string>) =>
  text.replace(/<([^>]+)>/g, (whole, name: string) => values[name] ?? whole);

/** `POST /x HTTP/1.1`, header lines, a blank line, the body. */
function httpRequest(text: string): HttpRequestFixture {
  const blank = text.indexOf('\n\n');
  const [requestLine, ...headerLines] = text.slice(0, blank).split('\n');
  const [method, path] = requestLine.split(' ');
  const headers = headerLines.map((l): [string, string] => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).trim(), l.slice(colon + 1).trim()];
  });
  return { method, path, headers, body: text.slice(blank + 2) };
}

/** Every case of a feature file, each Scenario Outline expanded once per example row. */
export function featureCases(file: string): FeatureCase[] {
  const cases: FeatureCase[] = [];
  for (const scenario of scenarios(read(file))) {
    for (const values of scenario.examples.length > 0 ? scenario.examples : [{}]) {
      const c: FeatureCase = {
        file,
        name: fill(scenario.name, values),
        expected: { attributes: {}, data: undefined },
      };
      let kafkaValue: string | undefined;
      for (const step of scenario.steps) {
        const doc = step.docString === undefined ? undefined : fill(step.docString, values);
        const rows = step.rows?.map((row) => row.map((cell) => fill(cell, values)));
        const what = step.text.replace(/^\w+ /, '');
        if (what === 'an HTTP request') c.http = httpRequest(doc!);
        else if (what === 'a Kafka message with payload:') kafkaValue = doc!;
        else if (what === 'Kafka headers:') c.kafka = { headers: keyValues(rows!), value: '' };
        else if (what === 'the attributes are:') c.expected.attributes = keyValues(rows!);
        else if (what === 'the data is equal to the following JSON:')
          c.expected.data = JSON.parse(doc!);
        else if (!/^(parsed as|(HTTP|Kafka) Protocol Binding is supported)/.test(what))
          throw new Error(`unknown step in ${file}: ${step.text}`);
      }
      if (c.kafka) c.kafka.value = kafkaValue ?? '';
      cases.push(c);
    }
  }
  return cases;
}

const strings = (value: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v).trim()]),
  );

/**
 * The events of a YAML fixture. Read with the failsafe schema: every scalar a string, as the
 * tool's Go structs read them (`specversion: 1.0` stays "1.0", not the number 1).
 */
export function yamlEvents(file: string): YamlEventFixture[] {
  return parseAllDocuments(read(file), { schema: 'failsafe' }).map((doc, index) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    const value = doc.toJS() as Record<string, unknown>;
    const known = ['Mode', 'ContextAttributes', 'TransportExtensions', 'Data'];
    const unknown = Object.keys(value).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new Error(`unknown keys in ${file}: ${unknown.join(', ')}`);
    const { Extensions, ...attributes } = (value.ContextAttributes ?? {}) as Record<
      string,
      unknown
    >;
    const mode = value.Mode as string | undefined;
    if (mode !== undefined && mode !== 'binary' && mode !== 'structured')
      throw new Error(`unknown mode in ${file}: ${mode}`);
    return {
      file,
      index,
      mode,
      attributes: { ...strings(attributes), ...strings(Extensions) },
      transportExtensions: strings(value.TransportExtensions),
      data: (value.Data as string | undefined) ?? '',
    };
  });
}
