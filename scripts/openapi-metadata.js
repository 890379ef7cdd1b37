// Regenerates apps/<app>/src/swagger-metadata.ts for each app with an HTTP API: the OpenAPI plugin's view of the DTOs
// (types and class-validator rules), so the served document describes them without decorators
// on every field. Run after changing a DTO: npm run openapi:metadata
const {
  PluginMetadataGenerator,
} = require('@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator');
const { ReadonlyVisitor } = require('@nestjs/swagger/plugin');
const { join, relative } = require('node:path');
const { readFileSync, writeFileSync } = require('node:fs');

const root = join(__dirname, '..');
const APPS = ['entitlement', 'metering'];

/** Writes an app's metadata file into outputDir (its source folder, or a scratch folder). */
function generate(outputDir, app = 'entitlement') {
  const src = join(root, 'apps', app, 'src');
  outputDir = outputDir ?? src;
  new PluginMetadataGenerator().generate({
    visitors: [
      new ReadonlyVisitor({
        introspectComments: true,
        classValidatorShim: true,
        pathToSource: src,
      }),
    ],
    outputDir,
    filename: 'swagger-metadata.ts',
    // The generator resolves this against the working directory.
    tsconfigPath: relative(process.cwd(), join(root, 'apps', app, 'tsconfig.app.json')),
    printDiagnostics: false,
  });
  // The generator declares a table of enum imports even when no DTO has one; the compiler's
  // noUnusedLocals would refuse the file then.
  const file = join(outputDir, 'swagger-metadata.ts');
  const text = readFileSync(file, 'utf8');
  if (!/\bt\[/.test(text))
    writeFileSync(file, text.replace('const t = {};', 'const t = {};\n  void t;'));
}

module.exports = { generate, APPS };
if (require.main === module) for (const app of APPS) generate(undefined, app);
