import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { randomUUID } from 'node:crypto';
import { testConfig } from '../libs/testing/src/test-config';
import { ADMIN_TOKEN, Stack } from './support/stack';

const root = join(__dirname, '..');
const APPS = ['entitlement', 'metering'] as const;
const committed = (app: string) => join(root, 'apps', app, 'openapi.json');
const metadata = (app: string) => join(root, 'apps', app, 'src', 'swagger-metadata.ts');

/**
 * Each served OpenAPI document equals the committed apps/<app>/openapi.json, and the DTO
 * metadata behind it is current. After an API change: `npm run openapi:metadata`, then
 * `UPDATE_OPENAPI=1 npm test -- test/openapi` and commit the files.
 */
describe('OpenAPI document (e2e)', () => {
  const stack = new Stack(
    {
      entitlementHttp: 13501,
      entitlementGrpc: 15551,
      metering: 13502,
      gateway: 18580,
      upstream: 14500,
    },
    'openapi-',
  );

  beforeAll(() => stack.start(['entitlement', 'metering']));
  afterAll(() => stack.stop());

  it.each(APPS)('%s is generated from the current DTOs', (app) => {
    const scratch = mkdtempSync(join(tmpdir(), 'paygate-openapi-'));
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { generate } = require('../scripts/openapi-metadata.js') as {
        generate: (dir: string, app: string) => void;
      };
      generate(scratch, app);
      // The committed file is prettier-formatted (npm run openapi:metadata); so is the fresh one.
      // (Prettier runs as a process: its ESM loading does not work inside Jest's module VM.)
      const prettier = join(root, 'node_modules', '.bin', 'prettier');
      const fresh = execFileSync(prettier, ['--stdin-filepath', metadata(app)], {
        input: readFileSync(join(scratch, 'swagger-metadata.ts'), 'utf8'),
        encoding: 'utf8',
      });
      expect(fresh).toBe(readFileSync(metadata(app), 'utf8'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it.each(APPS)('%s is served at /docs/json and matches the committed document', async (app) => {
    const served = await (await fetch(`${stack.url(app)}/docs/json`)).json();
    expect((await fetch(`${stack.url(app)}/docs`)).status).toBe(200);
    const text = `${JSON.stringify(served, null, 2)}\n`;
    if (testConfig().updateOpenApi) writeFileSync(committed(app), text);
    expect(served).toEqual(JSON.parse(readFileSync(committed(app), 'utf8')));
  });

  type Doc = {
    paths: Record<string, Record<string, { responses: Record<string, { $ref?: string }> }>>;
    components: Record<string, Record<string, unknown>>;
  };
  // What each service answers to a bad request, checked against the response its document gives.
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const refusals: [string, string, string, string, RequestInit, number][] = [
    [
      'entitlement',
      'post',
      '/v1/customers',
      '/v1/customers',
      { headers: admin, body: '{"name":5}' },
      400,
    ],
    [
      'entitlement',
      'post',
      '/v1/customers',
      '/v1/customers',
      { headers: admin, body: '{"name":' },
      400,
    ],
    ['entitlement', 'get', '/v1/customers', '/v1/customers', {}, 401],
    [
      'entitlement',
      'get',
      '/v1/customers/{id}',
      '/v1/customers/not-a-uuid',
      { headers: admin },
      400,
    ],
    [
      'entitlement',
      'get',
      '/v1/customers/{id}',
      `/v1/customers/${randomUUID()}`,
      { headers: admin },
      404,
    ],
    ['metering', 'post', '/v1/meters', '/v1/meters', { headers: admin, body: '{}' }, 400],
    ['metering', 'get', '/v1/meters/{key}', '/v1/meters/no-such-meter', { headers: admin }, 404],
    [
      'metering',
      'post',
      '/events',
      '/events',
      { headers: { 'content-type': 'application/json' }, body: '[]' },
      401,
    ],
  ];
  it.each(refusals)(
    '%s %s %s: the problem answered is the one its document describes',
    async (app, method, path, url, init, status) => {
      const doc = (await (
        await fetch(`${stack.url(app as 'entitlement')}/docs/json`)
      ).json()) as Doc;
      const response = await fetch(`${stack.url(app as 'entitlement')}${url}`, {
        ...init,
        method: method.toUpperCase(),
      });
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('x-request-id')).toBeTruthy();
      const documented = doc.paths[path][method].responses[String(status)];
      expect(documented?.$ref).toBeDefined();
      const name = documented.$ref!.split('/').pop()!;
      const content = (
        doc.components.responses[name] as {
          content: Record<string, { schema: Record<string, unknown> }>;
        }
      ).content['application/problem+json'];
      // OpenAPI 3.1 schemas are JSON Schema 2020-12; their refs point into the document.
      const validate = new Ajv2020({ strict: false, validateFormats: false }).compile({
        ...content.schema,
        components: doc.components,
      });
      const body: unknown = await response.json();
      expect({ valid: validate(body), errors: validate.errors ?? [], body }).toMatchObject({
        valid: true,
      });
    },
  );
});
