// Regenerates apps/entitlement/src/swagger-metadata.ts: the OpenAPI plugin's view of the DTOs
// (types and class-validator rules), so the served document describes them without decorators
// on every field. Run after changing a DTO: npm run openapi:metadata
const {
  PluginMetadataGenerator,
} = require('@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator');
const { ReadonlyVisitor } = require('@nestjs/swagger/plugin');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const src = join(root, 'apps', 'entitlement', 'src');

/** Writes the metadata file into outputDir (the source folder, or a scratch folder to compare). */
function generate(outputDir = src) {
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
    tsconfigPath: relative(process.cwd(), join(root, 'apps', 'entitlement', 'tsconfig.app.json')),
    printDiagnostics: false,
  });
}

module.exports = { generate };
if (require.main === module) generate();
