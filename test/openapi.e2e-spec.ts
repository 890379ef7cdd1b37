import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { testConfig } from '../libs/testing/src/test-config';
import { Stack } from './support/stack';

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
});
