// Bundles the demo single-page app (demo/spa) with the client library for the browser; the
// gateway serves dist/demo/spa at /_paygate/demo/ when DEMO_APP_DIR points there.
const { buildSync } = require('esbuild');
const { cpSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..');
buildSync({
  entryPoints: [join(root, 'demo/spa/main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  outfile: join(root, 'dist/demo/spa/app.js'),
  logLevel: 'warning',
});
cpSync(join(root, 'demo/spa/index.html'), join(root, 'dist/demo/spa/index.html'));
